from products.controllers.public import router as catalog_router
from products.controllers.staff import StaffCatalogController, StaffProductController

__all__ = ["StaffCatalogController", "StaffProductController", "catalog_router"]
