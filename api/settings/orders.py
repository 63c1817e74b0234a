"""Cart, prices (shipping and tax), orders, inventory, the checkout's rate limit and the order
upkeep tasks. Payment settings live in payments.py; the admin dashboard in admin.py."""

from datetime import timedelta as _timedelta
from decimal import Decimal as _Decimal

from .env import env

# -- cart -----------------------------------------------------------------------------------------
CART_MAX_LINES = env.int("CART_MAX_LINES", default=100)
# At most this many of one variant per cart and per order (a shop's per-item limit: nobody holds
# a whole SKU hostage with one unpaid order).
CART_MAX_LINE_QUANTITY = env.int("CART_MAX_LINE_QUANTITY", default=50)
# Open guest carts untouched this long are deleted by maintenance.purge_stale_carts.
CART_GUEST_TTL_DAYS = env.int("CART_GUEST_TTL_DAYS", default=30)

# -- prices: shipping and tax, computed from the database on every read and at checkout ---------
# Flat rate per order; free when the subtotal after discount reaches the threshold (empty: never).
SHIPPING_FLAT_RATE = _Decimal(env("SHIPPING_FLAT_RATE", default="5.00"))
_free_threshold = env("SHIPPING_FREE_THRESHOLD", default="50.00")
SHIPPING_FREE_THRESHOLD = _Decimal(_free_threshold) if _free_threshold else None
# Tax added on top of prices: (subtotal - discount [+ shipping]) * TAX_RATE, e.g. 0.2 for 20 %.
TAX_RATE = _Decimal(env("TAX_RATE", default="0"))
TAX_SHIPPING = env.bool("TAX_SHIPPING", default=True)

# -- orders ---------------------------------------------------------------------------------------
# An order still pending payment this long after it was placed is cancelled and its stock returned.
ORDER_PAYMENT_TIMEOUT = _timedelta(minutes=env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30))
# Orders waiting for payment at once, per email, per account and per client address (IP): an
# anonymous client cannot reserve stock with unpaid orders over and over (409 unpaid_orders_limit).
ORDER_MAX_UNPAID = env.int("ORDER_MAX_UNPAID", default=3)
# Offline payments (bank transfer, cash on delivery) only for signed-in customers: a guest cannot
# hold stock for days without an account.
PAYMENT_OFFLINE_SIGNED_IN_ONLY = env.bool("PAYMENT_OFFLINE_SIGNED_IN_ONLY", default=False)
ORDER_NUMBER_PREFIX = "EM-"
# Where order emails send the customer; {number} and {token} (the guest's access key) filled in.
ORDER_URL = env("ORDER_URL", default="http://localhost:3000/orders/{number}?token={token}")

# -- inventory ------------------------------------------------------------------------------------
INVENTORY_UPLOAD_MAX_BYTES = env.int("INVENTORY_UPLOAD_MAX_BYTES", default=2 * 1024 * 1024)
INVENTORY_UPLOAD_MAX_ROWS = env.int("INVENTORY_UPLOAD_MAX_ROWS", default=20_000)
# Low-stock alerts go to these addresses; empty: to every active staff user.
LOW_STOCK_ALERT_EMAILS = env.list("LOW_STOCK_ALERT_EMAILS", default=[])

# -- rate limits: checkout creates orders and holds stock, so it gets its own, stricter group --
ORDERS_RATE_LIMITS = {"checkout": {"ip": "30/min", "user": "30/min"}}

# -- periodic tasks: orders' part of DEFAULT_BEAT_SCHEDULES (composed in base.py) -----------------
ORDERS_BEAT_SCHEDULES = {
    "cancel unpaid orders": {
        "task": "maintenance.cancel_unpaid_orders",
        "every_seconds": 60,
        "kwargs": {"limit": 500},
        "description": "Cancel orders unpaid after ORDER_PAYMENT_TIMEOUT; their stock returns.",
    },
    "low-stock alerts": {
        "task": "email.send_low_stock_alert",
        "every_seconds": 300,
        "description": "Email staff about variants that crossed their low-stock threshold (once).",
    },
    "daily sales report": {
        "task": "reports.daily_sales",
        "crontab": {"minute": "5", "hour": "0"},
        "kwargs": {"days": 3},
        "description": "SalesReport rows for the last days (late payments move recent days).",
    },
    "purge stale carts": {
        "task": "maintenance.purge_stale_carts",
        "crontab": {"minute": "41", "hour": "4"},
    },
}
