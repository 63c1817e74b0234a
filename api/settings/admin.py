"""The admin (Unfold): its look, its dashboard, and where signing in leads."""

# The admin is the only sign-in page; Unfold's login form carries no hidden `next` field, so a
# sign-in at /admin/login/ opened directly lands here instead of Django's /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"
LOGIN_URL = "admin:login"

UNFOLD = {
    "SITE_TITLE": "Emporium admin",
    "SITE_HEADER": "Emporium",
    "SITE_SUBHEADER": "Merchant console",
    "SITE_SYMBOL": "storefront",
    # Without an icon link every browser asks for /favicon.ico, a 404 in the console.
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "type": "image/svg+xml",
            "href": "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' "
            "viewBox='0 0 32 32'><rect width='32' height='32' rx='8' fill='%23e7000b'/></svg>",
        }
    ],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "COLORS": {
        "primary": {
            "50": "oklch(97.1% .013 17.38)",
            "100": "oklch(93.6% .032 17.717)",
            "200": "oklch(88.5% .062 18.334)",
            "300": "oklch(80.8% .114 19.571)",
            "400": "oklch(70.4% .191 22.216)",
            "500": "oklch(63.7% .237 25.331)",
            "600": "oklch(57.7% .245 27.325)",
            "700": "oklch(50.5% .213 27.518)",
            "800": "oklch(44.4% .177 26.899)",
            "900": "oklch(39.6% .141 25.723)",
            "950": "oklch(25.8% .092 26.042)",
        }
    },
    # The start page: revenue and orders per day, today's figures, low stock, recent orders.
    "DASHBOARD_CALLBACK": "orders.dashboard.dashboard_callback",
}
