from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.decorators import action, display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core.models import Address, SentEmail, User
from core.tokens import user_tokens_revoke

admin.site.unregister(Group)
# django-ninja-jwt's own admin shows each refresh token in full: a staff member could sign in as
# the customer. Ours shows ids and dates only.
for model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class AddressInline(TabularInline):
    model = Address
    extra = 0
    fields = [
        "first_name",
        "last_name",
        "street_address_1",
        "city",
        "postal_code",
        "country",
        "is_default_shipping",
        "is_default_billing",
    ]
    show_change_link = True


class UserChangeFormWithoutHash(UserChangeForm):
    """The change form without the password field: not even a masked hash reaches the page."""

    class Meta(UserChangeForm.Meta):
        model = User
        fields = [
            "email",
            "first_name",
            "last_name",
            "email_verified",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("password", None)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeFormWithoutHash
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [AddressInline]

    ordering = ["-date_joined"]
    list_display = [
        "email",
        "full_name",
        "email_verified",
        "is_staff",
        "is_active",
        "address_count",
        "date_joined",
        "last_login",
    ]
    list_filter = [
        "is_staff",
        "is_superuser",
        "is_active",
        "email_verified",
        "groups",
        ("date_joined", RangeDateTimeFilter),
        ("last_login", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["password_link", "last_login", "date_joined", "tokens_valid_after"]
    fieldsets = (
        (None, {"fields": ("email", "password_link")}),
        ("Profile", {"fields": ("first_name", "last_name", "email_verified")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "tokens_valid_after")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["sign_out_everywhere"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_address_count=Count("addresses"))

    def get_inlines(self, request, obj):
        # The add page asks for an email and a password only; addresses come after.
        return self.inlines if obj is not None else []

    @display(description="Name")
    def full_name(self, obj: User) -> str:
        return f"{obj.first_name} {obj.last_name}".strip()

    @display(description="Addresses", ordering="_address_count")
    def address_count(self, obj: User) -> int:
        return obj._address_count

    @display(description="Password")
    def password_link(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        # Django's UserAdmin names this route after auth.User whatever the user model.
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        state = "set" if obj.has_usable_password() else "not set"
        return format_html('Password {}. <a href="{}">Set a new password</a>', state, url)

    @action(description="Sign out everywhere (revoke every token)")
    def sign_out_everywhere(self, request, queryset):
        for user in queryset:
            user_tokens_revoke(user=user)
        self.message_user(request, f"Signed out {queryset.count()} user(s).", messages.SUCCESS)


@admin.register(Address)
class AddressAdmin(ModelAdmin):
    list_display = [
        "full_name",
        "user",
        "street_address_1",
        "city",
        "postal_code",
        "country",
        "is_default_shipping",
        "is_default_billing",
        "updated_at",
    ]
    list_filter = ["country", "is_default_shipping", "is_default_billing"]
    list_select_related = ["user"]
    search_fields = [
        "user__email",
        "first_name",
        "last_name",
        "company_name",
        "street_address_1",
        "city",
        "postal_code",
        "phone",
    ]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]

    @display(description="Name")
    def full_name(self, obj: Address) -> str:
        return obj.full_name


@admin.register(SentEmail)
class SentEmailAdmin(ModelAdmin):
    """What was sent and when: a read-only log."""

    list_display = ["sent_at", "template", "recipient", "subject", "event_key"]
    list_filter = ["template", ("sent_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["recipient", "event_key", "subject"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ModelAdmin):
    """Refresh tokens issued; the token itself is never shown."""

    list_display = ["jti", "user", "created_at", "expires_at", "blacklisted"]
    list_select_related = ["user", "blacklistedtoken"]
    search_fields = ["user__email", "jti"]
    fields = ["jti", "user", "created_at", "expires_at"]
    readonly_fields = fields

    @display(description="Blacklisted", boolean=True)
    def blacklisted(self, obj: OutstandingToken) -> bool:
        return hasattr(obj, "blacklistedtoken")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    pass
