"""Catalog admin (Unfold). Every save ends in the catalog services' after-commit hooks, stock
edits go through the ledger, and bulk actions call services."""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminTextInputWidget

from api.errors import ApiError
from products import services
from products.attribute_values import fill_typed_value
from products.attributes import definitions_for_category
from products.csv_io import MODES, export_rows, import_csv
from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Review,
    ReviewStatus,
    StockMovement,
    StockReason,
    Variant,
    VariantAttributeValue,
)
from products.services.images import image_check, image_files_delete_on_commit
from products.services.products import product_prices_refresh
from products.services.stock import StockChange, stock_adjust_many


def thumbnail(name: str | None, height: int = 48) -> str:
    if not name:
        return "-"
    from django.core.files.storage import default_storage

    return format_html(
        '<img src="{}" style="height:{}px;width:auto;border-radius:4px" alt="">',
        default_storage.url(name),
        height,
    )


class StructureAdmin(ModelAdmin):
    """Categories, brands and definitions: any change refreshes every cached public answer."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.catalog_structure_changed_on_commit()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.catalog_structure_changed_on_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.catalog_structure_changed_on_commit()


# -- structure ------------------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(StructureAdmin):
    list_display = ["tree_name", "slug", "is_active", "position", "product_count"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth"]
    ordering = ["path"]
    list_per_page = 200

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(products_total=Count("products"))

    @display(description="Category", ordering="path")
    def tree_name(self, obj: Category) -> str:
        # Ordered by path, every node follows its parent: indenting by depth draws the tree.
        return format_html(
            '<span style="padding-left:{}rem">{}{}</span>',
            obj.depth * 1.5,
            "└ " if obj.depth else "",
            obj.name,
        )

    @display(description="Products", ordering="products_total")
    def product_count(self, obj: Category) -> int:
        return obj.products_total


@admin.register(Brand)
class BrandAdmin(StructureAdmin):
    list_display = ["name", "logo_preview", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(products_total=Count("products"))

    @display(description="Logo")
    def logo_preview(self, obj: Brand) -> str:
        return thumbnail(obj.logo.name if obj.logo else None, 32)

    @display(description="Products", ordering="products_total")
    def product_count(self, obj: Brand) -> int:
        return obj.products_total


class AttributeDefinitionForm(forms.ModelForm):
    class Meta:
        model = AttributeDefinition
        fields = "__all__"  # noqa: DJ007 - every field of a definition is edited here

    def clean(self):
        data = super().clean()
        definition = self.instance
        if definition.pk:
            in_use = (
                ProductAttributeValue.objects.filter(definition=definition).exists()
                or VariantAttributeValue.objects.filter(definition=definition).exists()
            )
            frozen = [
                name
                for name in ("type", "is_variant_attribute", "category")
                if name in self.changed_data
            ]
            if in_use and frozen:
                raise ValidationError(
                    f"Values exist for this attribute; {', '.join(frozen)} cannot change."
                )
        return data


@admin.register(AttributeDefinition)
class AttributeDefinitionAdmin(StructureAdmin):
    form = AttributeDefinitionForm
    list_display = [
        "code",
        "name",
        "type",
        "category",
        "unit",
        "is_variant_attribute",
        "is_filterable",
        "is_required",
    ]
    list_filter = ["type", "is_variant_attribute", "is_filterable", "is_required", "category"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["category"]


# -- products -------------------------------------------------------------------------------------


class AttributeValueForm(forms.ModelForm):
    """One text box for the value, whatever the type; checked against the definition."""

    value = forms.CharField(
        max_length=255,
        help_text="true/false for yes-no attributes.",
        widget=UnfoldAdminTextInputWidget,  # a declared field gets no admin widget of its own
    )
    variant_level = False

    class Meta:
        fields = ["definition"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["value"].initial = self.instance.value_text

    def owner_category(self) -> Category | None:
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        definition = data.get("definition")
        if definition is None or "value" not in data:
            return data
        category = self.owner_category()
        if category is not None and definition.code not in definitions_for_category(category):
            raise ValidationError({"definition": "This attribute does not apply to the category."})
        if definition.is_variant_attribute != self.variant_level:
            level = "variant" if definition.is_variant_attribute else "product"
            raise ValidationError({"definition": f"This attribute is set per {level}."})
        try:
            fill_typed_value(self.instance, definition, data["value"])
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from None
        return data


class ProductAttributeValueForm(AttributeValueForm):
    class Meta(AttributeValueForm.Meta):
        model = ProductAttributeValue

    def owner_category(self):
        product = getattr(self.instance, "product", None)
        return getattr(product, "category", None) if product else None


class VariantAttributeValueForm(AttributeValueForm):
    variant_level = True

    class Meta(AttributeValueForm.Meta):
        model = VariantAttributeValue

    def owner_category(self):
        variant = getattr(self.instance, "variant", None)
        return variant.product.category if variant and variant.product_id else None


class ProductAttributeValueInline(TabularInline):
    model = ProductAttributeValue
    form = ProductAttributeValueForm
    extra = 0
    autocomplete_fields = ["definition"]


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = [
            "sku",
            "name",
            "price",
            "compare_at_price",
            "stock_quantity",
            "low_stock_threshold",
            "is_active",
            "is_default",
            "position",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The page carries the stock it showed, so an edit is applied as a difference. A
        # view-only page has no stock field: the admin leaves read-only fields out of the form.
        if "stock_quantity" in self.fields:
            self.fields["stock_quantity"].show_hidden_initial = True

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip().upper()
        if Variant.objects.filter(sku=sku).exclude(pk=self.instance.pk).exists():
            raise ValidationError("This SKU is already used.")
        return sku


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if self.instance.pk and not kept:
            raise ValidationError("A product keeps at least one variant.")
        if sum(bool(form.cleaned_data.get("is_default")) for form in kept) > 1:
            raise ValidationError("Only one variant can be the default.")


class VariantInline(TabularInline):
    model = Variant
    form = VariantForm
    formset = VariantFormSet
    extra = 0
    show_change_link = True
    ordering = ["position", "id"]


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "position"]

    def clean_image(self):
        image = self.cleaned_data["image"]
        if image and "image" in self.changed_data:
            try:
                image_check(image)
            except ApiError as exc:
                raise ValidationError(exc.message) from None
        return image


class ProductImageInline(TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 0
    fields = ["preview", "image", "alt", "position"]
    readonly_fields = ["preview"]

    @display(description="Preview")
    def preview(self, obj: ProductImage) -> str:
        return thumbnail(obj.image.name if obj.pk else None, 64)


def stock_delta(form) -> int:
    """What the staff member changed: the typed stock minus the stock the page showed."""
    desired = form.cleaned_data.get("stock_quantity") or 0
    if not form.instance.pk:
        return desired
    shown = form.data.get(form.add_initial_prefix("stock_quantity"))
    try:
        return desired - int(shown)
    except (TypeError, ValueError):
        return desired - (form.initial.get("stock_quantity") or 0)


def save_variant_forms(request: HttpRequest, formset) -> None:
    """Save variant forms so that a stock edit becomes a ledger line.

    The edited number is applied as a difference to the row's current stock (locked), so a sale
    committed while the form was open is not overwritten.
    """
    wanted: dict[int, int] = {}
    new_stock: list[tuple[Variant, int]] = []
    for form in formset.forms:
        if not form.has_changed() or form.cleaned_data.get("DELETE") or not form.is_valid():
            continue
        variant = form.instance
        delta = stock_delta(form)
        if variant.pk:
            variant.stock_quantity = (
                Variant.objects.select_for_update().get(pk=variant.pk).stock_quantity
            )
            if delta:
                wanted[variant.pk] = delta
        else:
            variant.stock_quantity = 0
            if delta:
                new_stock.append((variant, delta))
    if any(form.cleaned_data.get("is_default") for form in formset.forms if form.cleaned_data):
        # The flag moves: clear it first, so the one-default constraint holds at every step.
        parent = formset.instance
        parent.variants.filter(is_default=True).update(is_default=False)
    formset.save()
    changes = [StockChange(pk, delta=delta) for pk, delta in wanted.items()]
    changes += [StockChange(variant.pk, delta=stock) for variant, stock in new_stock]
    if changes:
        stock_adjust_many(
            changes=changes,
            reason=StockReason.ADJUSTMENT,
            actor=request.user,
            reference="admin",
            notify=False,
        )


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = [
        "name",
        "primary_image",
        "category",
        "brand",
        "price_range",
        "stock_total",
        "is_active",
        "is_featured",
        "rating_avg",
    ]
    list_filter = ["is_active", "is_featured", "category", "brand"]
    list_select_related = ["category", "brand"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category", "brand"]
    readonly_fields = ["price_min", "price_max", "rating_avg", "rating_count", "sales_count"]
    inlines = [VariantInline, ProductAttributeValueInline, ProductImageInline]
    actions = ["activate", "deactivate", "feature", "unfeature", "export_csv"]
    actions_list = ["import_csv"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(stock_sum=Sum("variants__stock_quantity", filter=Q(variants__is_active=True)))
        )

    @display(description="Image")
    def primary_image(self, obj: Product) -> str:
        image = obj.images.order_by("position", "id").first()
        return thumbnail(image.image.name if image else None, 40)

    @display(description="Price", ordering="price_min")
    def price_range(self, obj: Product) -> str:
        if obj.price_min is None or obj.price_min == obj.price_max:
            return str(obj.price_min if obj.price_min is not None else obj.base_price)
        return f"{obj.price_min} - {obj.price_max}"

    @display(description="Stock", ordering="stock_sum")
    def stock_total(self, obj: Product) -> int:
        return obj.stock_sum or 0

    # Saves: the admin view's transaction holds them; the hooks run after its commit.
    def save_formset(self, request, form, formset, change):
        if formset.model is Variant:
            save_variant_forms(request, formset)
            return
        if formset.model is ProductImage:
            names = [f.instance.image.name for f in formset.deleted_forms if f.instance.pk]
            formset.save()
            image_files_delete_on_commit(names)
            return
        formset.save()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product = form.instance
        variants = product.variants.all()
        if not variants.exists():
            services.variant_create(
                product_id=product.pk,
                sku=f"{product.slug.upper()[:50]}-{product.pk}",
                is_default=True,
            )
        elif not variants.filter(is_default=True).exists():
            first = variants.order_by("position", "id").first()
            first.is_default = True
            first.save(update_fields=["is_default"])
        product_prices_refresh([product.pk])
        services.products_changed_on_commit([product.pk])

    def delete_model(self, request, obj):
        names = list(obj.images.values_list("image", flat=True))
        super().delete_model(request, obj)
        image_files_delete_on_commit(names)
        services.products_changed_on_commit([obj.pk])

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        names = list(
            ProductImage.objects.filter(product_id__in=ids).values_list("image", flat=True)
        )
        super().delete_queryset(request, queryset)
        image_files_delete_on_commit(names)
        services.products_changed_on_commit(ids)

    # -- bulk actions -----------------------------------------------------------------------------
    def _flags(self, request, queryset, message, **flags):
        count = services.products_set_flags(
            product_ids=queryset.values_list("pk", flat=True), **flags
        )
        self.message_user(request, f"{count} products {message}.", messages.SUCCESS)

    @admin.action(description="Activate selected products", permissions=["change"])
    def activate(self, request, queryset):
        self._flags(request, queryset, "activated", is_active=True)

    @admin.action(description="Deactivate selected products", permissions=["change"])
    def deactivate(self, request, queryset):
        self._flags(request, queryset, "deactivated", is_active=False)

    @admin.action(description="Feature selected products", permissions=["change"])
    def feature(self, request, queryset):
        self._flags(request, queryset, "featured", is_featured=True)

    @admin.action(description="Stop featuring selected products", permissions=["change"])
    def unfeature(self, request, queryset):
        self._flags(request, queryset, "no longer featured", is_featured=False)

    @admin.action(description="Export selected products to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        out = io.StringIO()
        csv.writer(out).writerows(
            export_rows(list(queryset.select_related(None).only("pk", "slug")))
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        return response

    @action(description="Import CSV", url_path="import-csv", permissions=["add", "change"])
    def import_csv(self, request: HttpRequest):
        form = CsvImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            text = io.StringIO(form.cleaned_data["file"].read().decode("utf-8-sig"))
            with transaction.atomic():
                report = import_csv(
                    text,
                    dry_run=form.cleaned_data["dry_run"],
                    mode=form.cleaned_data["mode"],
                    actor=request.user,
                    reference=f"admin import {form.cleaned_data['file'].name}"[:100],
                )
            level = messages.SUCCESS if not report.errors else messages.WARNING
            self.message_user(request, report.summary(), level)
            if report.applied and not report.errors:
                return redirect(reverse("admin:products_product_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import products from CSV",
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/products/product/import_csv.html", context)


class CsvImportForm(forms.Form):
    # Unfold's widget: its script fills the file name into the widget's own text box, and
    # throws on a plain file input, which has none.
    file = forms.FileField(
        help_text="UTF-8 CSV in the export's format.", widget=UnfoldAdminFileFieldWidget
    )
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Report only.")
    mode = forms.ChoiceField(
        choices=[
            (m, {"atomic": "All rows or none", "valid": "Apply the valid rows"}[m]) for m in MODES
        ],
        initial="atomic",
    )


class VariantAttributeValueInline(TabularInline):
    model = VariantAttributeValue
    form = VariantAttributeValueForm
    extra = 0
    autocomplete_fields = ["definition"]


class StockMovementInline(TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "quantity_delta", "quantity_after", "reason", "reference", "actor"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Variant)
class VariantAdmin(ModelAdmin):
    form = VariantForm
    list_display = ["sku", "product", "name", "price", "stock_quantity", "is_active", "is_default"]
    list_filter = ["is_active"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [VariantAttributeValueInline, StockMovementInline]

    def get_fields(self, request, obj=None):
        return ["product", *VariantForm.Meta.fields]

    def save_model(self, request, obj, form, change):
        delta = stock_delta(form)
        obj.stock_quantity = (
            Variant.objects.select_for_update().get(pk=obj.pk).stock_quantity if change else 0
        )
        if obj.is_default:
            Variant.objects.filter(product_id=obj.product_id, is_default=True).exclude(
                pk=obj.pk
            ).update(is_default=False)
        super().save_model(request, obj, form, change)
        if delta:
            stock_adjust_many(
                changes=[StockChange(obj.pk, delta=delta)],
                reason=StockReason.ADJUSTMENT,
                actor=request.user,
                reference="admin",
                notify=False,
            )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product_prices_refresh([form.instance.product_id])
        services.products_changed_on_commit([form.instance.product_id])

    def delete_model(self, request, obj):
        services.variant_delete(variant_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.variant_delete(variant_id=pk)


@admin.register(StockMovement)
class StockMovementAdmin(ModelAdmin):
    """The ledger is read-only: stock changes through adjustments, which write it."""

    list_display = [
        "created_at",
        "sku",
        "quantity_delta",
        "quantity_after",
        "reason",
        "reference",
        "actor",
    ]
    list_filter = ["reason", "created_at"]
    search_fields = ["sku", "reference", "note"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(ModelAdmin):
    list_display = ["product", "user", "rating", "status", "is_verified_purchase", "created_at"]
    list_filter = ["status", "rating", "is_verified_purchase"]
    search_fields = ["product__name", "user__email", "title", "body"]
    list_select_related = ["product", "user"]
    readonly_fields = [
        "product",
        "user",
        "rating",
        "title",
        "body",
        "is_verified_purchase",
        "created_at",
        "moderated_at",
        "moderated_by",
    ]
    fields = ["status", *readonly_fields]
    actions = ["publish", "reject"]

    def has_add_permission(self, request):
        return False  # customers write reviews; staff moderate them

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            services.review_moderate(review_id=obj.pk, status=obj.status, actor=request.user)

    def delete_model(self, request, obj):
        product_id = obj.product_id
        super().delete_model(request, obj)
        services.product_rating_refresh([product_id])
        services.products_changed_on_commit([product_id])

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("product_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        services.product_rating_refresh(ids)
        services.products_changed_on_commit(ids)

    @admin.action(description="Publish selected reviews", permissions=["change"])
    def publish(self, request, queryset):
        count = services.reviews_moderate(
            review_ids=list(queryset.values_list("pk", flat=True)),
            status=ReviewStatus.PUBLISHED,
            actor=request.user,
        )
        self.message_user(request, f"{count} reviews published.", messages.SUCCESS)

    @admin.action(description="Reject selected reviews", permissions=["change"])
    def reject(self, request, queryset):
        count = services.reviews_moderate(
            review_ids=list(queryset.values_list("pk", flat=True)),
            status=ReviewStatus.REJECTED,
            actor=request.user,
        )
        self.message_user(request, f"{count} reviews rejected.", messages.SUCCESS)
