"""The NinjaExtraAPI: every controller is registered here."""

from api.errors import install_exception_handlers
from api.health import HealthController
from api.openapi import EmporiumAPI
from cart.controllers import CartController
from cms.controllers import router as cms_router
from core.controllers import (
    AddressController,
    AuthController,
    MeController,
    StaffUserController,
)
from orders.controllers import (
    CheckoutController,
    OrderController,
    StaffInventoryController,
    StaffOrderController,
    StaffReportController,
)
from payments.controllers import PaymentController, StaffRefundController
from products.controllers import StaffCatalogController, StaffProductController, catalog_router
from promotions.controllers import StaffPromotionController
from search.controllers import router as search_router
from webhooks.controllers import StaffWebhookController

# Its schema declares the error answers common to every operation (api/openapi.py).
api = EmporiumAPI(
    title="Emporium API",
    version="1.0.0",
    description=(
        "E-commerce backend: catalog, search, cart, checkout, payments and orders. "
        'Every error has the shape {"code", "message", "details"}.'
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_exception_handlers(api)

api.register_controllers(HealthController)
api.register_controllers(AuthController, MeController, AddressController, StaffUserController)
api.register_controllers(StaffCatalogController, StaffProductController)
api.add_router("/catalog", catalog_router)
api.add_router("/search", search_router)
api.add_router("/cms", cms_router)
api.register_controllers(CartController, CheckoutController, OrderController)
api.register_controllers(StaffOrderController, StaffReportController, StaffInventoryController)
api.register_controllers(PaymentController, StaffRefundController)
api.register_controllers(StaffWebhookController, StaffPromotionController)
