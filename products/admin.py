"""Catalog admin (Unfold). Every save, delete and bulk action calls the catalog services, as the
staff API and the CSV importer do: the same validation, the one-default-variant rule, stock edits
through the ledger, and the caches and search told after commit (see "saving through the
services" below)."""

from __future__ import annotations

import csv
import io

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminTextInputWidget

from api.errors import ApiError
from products import imports, services
from products.attribute_values import fill_typed_value
from products.attributes import definitions_for_category
from products.csv_io import export_rows, import_csv
from products.errors import CatalogImportDuplicate
from products.models import (
    AttributeDefinition,
    Brand,
    CatalogImport,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Review,
    ReviewStatus,
    StockMovement,
    Variant,
    VariantAttributeValue,
)
from products.services.images import image_check


def thumbnail(name: str | None, height: int = 48) -> str:
    if not name:
        return "-"
    from django.core.files.storage import default_storage

    return format_html(
        '<img src="{}" style="height:{}px;width:auto;border-radius:4px" alt="">',
        default_storage.url(name),
        height,
    )


# -- saving through the services ------------------------------------------------------------------
# A catalog admin page is one form and its inlines; saving it is one or a few service calls, made
# in save_related once every form is valid (save_model stores nothing). The services check what
# the forms cannot see (attribute combinations, a SKU taken meanwhile); a refusal rolls the whole
# save back and the page opens again with the service's message.

VARIANT_SPEC_FIELDS = (
    "sku",
    "name",
    "price",
    "compare_at_price",
    "low_stock_threshold",
    "is_active",
    "is_default",
    "position",
)
PRODUCT_FORM_FIELDS = ("name", "slug", "description", "base_price", "is_active", "is_featured")


def kept_forms(formset) -> list:
    """The inline's rows that stay: existing or filled in, and not marked for deletion (an extra
    row left empty validates to no data)."""
    return [
        form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


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


def attribute_values(formset) -> dict[str, str]:
    """An attribute inline's rows as the services take them: {code: value}."""
    return {
        form.cleaned_data["definition"].code: form.cleaned_data["value"]
        for form in kept_forms(formset)
        if form.cleaned_data.get("definition")
    }


def variant_spec(form) -> dict:
    return {name: form.cleaned_data.get(name) for name in VARIANT_SPEC_FIELDS}


def adopt(target, saved) -> None:
    """Give the admin's unsaved object the row a service created (its log and redirect use it)."""
    for field in type(saved)._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding, target._state.db = False, saved._state.db


def record_formset(formset, *, new=(), changed=(), deleted=()) -> None:
    """What the admin's change message reads from a formset it did not save itself."""
    formset.new_objects, formset.changed_objects = list(new), list(changed)
    formset.deleted_objects = list(deleted)


def variants_save(request: HttpRequest, product: Product, formset) -> None:
    """The variant rows of a product's page, through variant_create / variant_update /
    variant_delete, and stock edits through the ledger as differences (a sale committed while
    the page was open is not overwritten). A row made default goes first, so the flag moves
    before another row lets go of it."""
    new, changed = [], []
    rows = sorted(
        (form for form in formset.forms if form.cleaned_data and form.has_changed()),
        key=lambda form: not form.cleaned_data.get("is_default"),
    )
    for form in rows:
        if form.cleaned_data.get("DELETE"):
            continue
        if form.instance.pk is None:
            spec = {**variant_spec(form), "stock_quantity": stock_delta(form)}
            new.append(
                services.variant_create(
                    product_id=product.pk, actor=request.user, stock_reference="admin", **spec
                )
            )
            continue
        fields = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in VARIANT_SPEC_FIELDS
        }
        if fields:
            services.variant_update(variant_id=form.instance.pk, **fields)
        delta = stock_delta(form)
        if delta:
            services.stock_adjust(
                variant_id=form.instance.pk,
                delta=delta,
                actor=request.user,
                reference="admin",
            )
        changed.append((form.instance, form.changed_data))
    deleted = [form.instance for form in formset.deleted_forms if form.instance.pk]
    for variant in deleted:
        services.variant_delete(variant_id=variant.pk)
    record_formset(formset, new=new, changed=changed, deleted=deleted)


def images_save(product: Product, formset) -> None:
    """The image rows of a product's page, through the image services."""
    new, changed = [], []
    for form in formset.forms:
        if not form.cleaned_data or form.cleaned_data.get("DELETE") or not form.has_changed():
            continue
        data = form.cleaned_data
        if form.instance.pk is None:
            new.append(
                services.product_image_add(
                    product_id=product.pk,
                    file=data["image"],
                    alt=data.get("alt") or "",
                    position=data.get("position"),
                )
            )
        else:
            services.product_image_update(
                image_id=form.instance.pk, alt=data.get("alt"), position=data.get("position")
            )
            changed.append((form.instance, form.changed_data))
    deleted = [form.instance for form in formset.deleted_forms if form.instance.pk]
    for image in deleted:
        services.product_image_delete(image_id=image.pk)
    record_formset(formset, new=new, changed=changed, deleted=deleted)


class ServiceSavedAdmin(ModelAdmin):
    """An admin page saved by the services (save_related); see the block comment above."""

    def save_model(self, request, obj, form, change):
        pass  # save_related saves the form with its inlines, through the services


def api_error_text(exc: ApiError) -> str:
    fields = [f"{e['field']}: {e['message']}" for e in exc.details.get("errors", [])]
    return " ".join([exc.message, *fields])


class StructureAdmin(ServiceSavedAdmin):
    """Categories, brands and definitions, saved and deleted through products.services.catalog
    (which refreshes every cached public answer after commit). `service` names the services
    (<service>_create / _update / _delete); a related object in the form is passed as `<name>_id`.
    """

    service: str

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        names = form.changed_data if change else [n for n in form.fields if n in data]
        fields = {}
        for name in names:
            value = data[name]
            if isinstance(value, Model):
                fields[f"{name}_id"] = value.pk
            elif name in self.relations:
                fields[f"{name}_id"] = None
            elif value is False and isinstance(form.fields[name], forms.FileField):
                fields[name] = ""  # the file's "clear" box
            else:
                fields[name] = value
        if change:
            call = getattr(services, f"{self.service}_update")
            call(**{f"{self.service_id}": form.instance.pk}, **fields)
        else:
            adopt(form.instance, getattr(services, f"{self.service}_create")(**fields))
        super().save_related(request, form, formsets, change)

    @property
    def service_id(self) -> str:
        return "definition_id" if self.service == "attribute_definition" else f"{self.service}_id"

    @property
    def relations(self) -> set[str]:
        return {f.name for f in self.model._meta.get_fields() if f.many_to_one}

    def delete_model(self, request, obj):
        getattr(services, f"{self.service}_delete")(**{self.service_id: obj.pk})

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            getattr(services, f"{self.service}_delete")(**{self.service_id: pk})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApiError as exc:  # the whole save rolled back with the admin's transaction
            self.message_user(request, api_error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApiError as exc:  # e.g. a category that still has products: nothing deleted
            self.message_user(request, api_error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# -- structure ------------------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(StructureAdmin):
    service = "category"
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
    service = "brand"
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
        changed = {name: data.get(name) for name in self.changed_data}
        if "category" in changed:
            changed["category_id"] = getattr(changed.pop("category"), "pk", None)
        try:
            # The stored row, not the form's copy: the check compares against what values hold.
            stored = AttributeDefinition.objects.filter(pk=self.instance.pk).first()
            if stored is not None:
                services.attribute_definition_frozen_check(stored, changed)
        except ApiError as exc:
            raise ValidationError(exc.message) from None
        return data


@admin.register(AttributeDefinition)
class AttributeDefinitionAdmin(StructureAdmin):
    service = "attribute_definition"
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
        kept = kept_forms(self)
        if self.instance.pk and not kept:
            raise ValidationError("A product keeps at least one variant.")
        try:
            services.variant_defaults_check([form.cleaned_data.get("is_default") for form in kept])
        except ApiError as exc:
            raise ValidationError(exc.message) from None


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


@admin.register(Product)
class ProductAdmin(ServiceSavedAdmin):
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

    fields = ["name", "slug", "category", "brand", "description", "base_price"]
    fields += ["is_active", "is_featured", *readonly_fields]

    def save_related(self, request, form, formsets, change):
        by_model = {formset.model: formset for formset in formsets}
        variants = by_model[Variant]
        attributes = by_model[ProductAttributeValue]
        data = form.cleaned_data
        if not change:
            product = services.product_create(
                **{name: data[name] for name in PRODUCT_FORM_FIELDS},
                category_id=data["category"].pk,
                brand_id=data["brand"].pk if data.get("brand") else None,
                attributes=attribute_values(attributes),
                variants=[
                    {**variant_spec(row), "stock_quantity": stock_delta(row)}
                    for row in kept_forms(variants)
                ]
                or None,
                actor=request.user,
                stock_reference="admin",
            )
            adopt(form.instance, product)
            record_formset(variants, new=product.variants.all())
            record_formset(attributes, new=product.attribute_values.all())
        else:
            product = form.instance
            fields = {name: data[name] for name in form.changed_data if name in PRODUCT_FORM_FIELDS}
            if "category" in form.changed_data:
                fields["category_id"] = data["category"].pk
            if "brand" in form.changed_data:
                fields["brand_id"] = data["brand"].pk if data.get("brand") else None
            if attributes.has_changed():
                fields["attributes"] = attribute_values(attributes)
            if fields:
                services.product_update(product_id=product.pk, actor=request.user, **fields)
            record_formset(attributes)
            variants_save(request, product, variants)
        images_save(product, by_model[ProductImage])

    def delete_model(self, request, obj):
        services.product_delete(product_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.product_delete(product_id=pk)

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
        """A dry run of a small file is answered here; anything else becomes a CatalogImport,
        applied by the catalog.import task and shown with its progress (products/imports.py)."""
        form = CsvImportForm(request.POST or None, request.FILES or None, user=request.user)
        report = None
        if request.method == "POST" and form.is_valid():
            data, file = form.cleaned_data, form.cleaned_data["file"]
            try:
                content = imports.read_upload(file)
                if data["dry_run"] and (
                    imports.data_rows(content) <= settings.CATALOG_IMPORT_INLINE_MAX_ROWS
                ):
                    report = import_csv(
                        io.StringIO(content),
                        dry_run=True,
                        mode=data["mode"],
                        stock=data["stock"],
                        actor=request.user,
                        reference=f"admin import {file.name}"[:100],
                    )
                else:
                    job = imports.catalog_import_create(
                        filename=file.name,
                        content=content,
                        actor=request.user,
                        mode=data["mode"],
                        stock=data["stock"],
                        dry_run=data["dry_run"],
                    )
            except CatalogImportDuplicate as exc:
                existing = exc.details.get("import_id")
                link = reverse("admin:products_catalogimport_change", args=[existing])
                self.message_user(
                    request,
                    format_html('{} <a href="{}">Import #{}</a>.', exc.message, link, existing),
                    messages.ERROR,
                )
            except ApiError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                if report is None:
                    self.message_user(
                        request, f"{job.filename}: {job.rows_total} rows queued.", messages.SUCCESS
                    )
                    return redirect(reverse("admin:products_catalogimport_change", args=[job.pk]))
                level = messages.SUCCESS if not report.errors else messages.WARNING
                self.message_user(request, report.summary(), level)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import products from CSV",
            "form": form,
            "report": report,
            "opts": self.model._meta,
            "inline_max_rows": settings.CATALOG_IMPORT_INLINE_MAX_ROWS,
        }
        return TemplateResponse(request, "admin/products/product/import_csv.html", context)


class CsvImportForm(forms.Form):
    # Unfold's widget: its script fills the file name into the widget's own text box, and
    # throws on a plain file input, which has none.
    file = forms.FileField(
        help_text="UTF-8 CSV in the export's format.", widget=UnfoldAdminFileFieldWidget
    )
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Report only.")
    mode = forms.ChoiceField(choices=CatalogImport.MODES, initial="atomic")
    stock = forms.ChoiceField(
        choices=CatalogImport.STOCK,
        initial="ignore",
        help_text="The stock_quantity column: left alone (a file exported earlier cannot undo "
        "the sales since), set as the level, or added. Changes go to the stock ledger.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_stock(self) -> str:
        stock = self.cleaned_data["stock"]
        if stock != "ignore" and not self.user.has_perm("products.adjust_stock"):
            raise ValidationError("You may not change stock levels.")
        return stock


@admin.register(CatalogImport)
class CatalogImportAdmin(ModelAdmin):
    """The admin's catalog imports (Products -> Import CSV), read-only: options, progress and
    the rows that changed something or failed."""

    change_form_template = "admin/products/catalogimport/change_form.html"
    list_display = [
        "filename",
        "status",
        "progress",
        "stock",
        "mode",
        "dry_run",
        "rows_failed",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "stock", "dry_run"]
    search_fields = ["filename", "sha256"]
    list_select_related = ["created_by"]
    exclude = ["content", "results"]
    readonly_fields = [
        "filename",
        "status",
        "progress",
        "summary",
        "mode",
        "stock",
        "dry_run",
        "created_by",
        "rows_total",
        "rows_failed",
        "rows_unchanged",
        "products_created",
        "products_updated",
        "variants_created",
        "variants_updated",
        "stock_changes",
        "stopped_at",
        "error",
        "created_at",
        "started_at",
        "processed_at",
        "sha256",
        "row_results",
    ]

    def get_queryset(self, request):
        # The file and its results can run to megabytes: no page shows the file, the list
        # shows no results either.
        listing = getattr(request.resolver_match, "url_name", "").endswith("_changelist")
        return super().get_queryset(request).defer("content", *(["results"] if listing else []))

    def has_add_permission(self, request) -> bool:
        return False  # through Products -> Import CSV, which checks the file

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Progress")
    def progress(self, obj: CatalogImport) -> str:
        if obj.status != CatalogImport.Status.RUNNING:
            return obj.get_status_display()
        stage = obj.get_stage_display() or "Starting"
        return format_html(
            '{}: {} of {} rows <progress value="{}" max="{}"></progress>',
            stage,
            obj.rows_done,
            obj.rows_total,
            obj.rows_done,
            max(obj.rows_total, 1),
        )

    @display(description="Rows that changed or failed")
    def row_results(self, obj: CatalogImport) -> str:
        if not obj.results:
            return "-"
        return format_html(
            "<table><tr><th>Line</th><th>SKU</th><th>Result</th><th>Errors</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        result["line"],
                        result["sku"],
                        result["status"],
                        "; ".join(
                            f"{e['field']}: {e['message']}" if e["field"] else e["message"]
                            for e in result.get("errors", [])
                        ),
                    )
                    for result in sorted(obj.results, key=lambda r: r["line"])[:1000]
                ),
            ),
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
class VariantAdmin(ServiceSavedAdmin):
    form = VariantForm
    list_display = ["sku", "product", "name", "price", "stock_quantity", "is_active", "is_default"]
    list_filter = ["is_active"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [VariantAttributeValueInline, StockMovementInline]

    def get_fields(self, request, obj=None):
        return ["product", *VariantForm.Meta.fields]

    def save_related(self, request, form, formsets, change):
        values = {formset.model: formset for formset in formsets}[VariantAttributeValue]
        data = form.cleaned_data
        if not change:
            variant = services.variant_create(
                product_id=data["product"].pk,
                actor=request.user,
                stock_reference="admin",
                attributes=attribute_values(values),
                stock_quantity=stock_delta(form),
                **variant_spec(form),
            )
            adopt(form.instance, variant)
        else:
            variant = form.instance
            fields = {name: data[name] for name in form.changed_data if name in VARIANT_SPEC_FIELDS}
            if values.has_changed():
                fields["attributes"] = attribute_values(values)
            if fields:
                services.variant_update(variant_id=variant.pk, **fields)
            delta = stock_delta(form)
            if delta:
                services.stock_adjust(
                    variant_id=variant.pk, delta=delta, actor=request.user, reference="admin"
                )
        record_formset(values)
        for formset in formsets:
            if formset is not values:
                record_formset(formset)

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
