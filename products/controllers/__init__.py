from products.controllers.public import CatalogController
from products.controllers.staff import StaffCatalogController, StaffProductController

__all__ = ["CatalogController", "StaffCatalogController", "StaffProductController"]
