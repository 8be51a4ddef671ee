"""The resources the sandbox serves, described the way PrestaShop 8.2 describes them.

Each resource copies its class's `$definition['fields']` (type, lang, validate, size, required, values,
default — in definition order, which is the order validation runs in) and its `$webserviceParameters`
(extra fields with getters/setters, xlinks, associations). Output order is PrestaShop's: `id`, then the
webservice fields, then the definition fields not already listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"  # int | float | bool | string | html | date
    lang: bool = False
    validate: str | None = None
    size: int | None = None
    required: bool = False
    values: tuple[str, ...] | None = None
    default: str | None = None
    range: tuple[int, int] | None = None
    allow_null: bool = False


@dataclass(frozen=True)
class WsField:
    """A `$webserviceParameters['fields']` entry."""

    xlink: str | None = None  # resource name, or "images/products" for id_default_image
    getter: str | None = None  # name of a computed value; "" means PrestaShop's `'getter' => false`
    setter: str | bool | None = None  # None: plain property; False: read-only (error 93); str: special setter
    has_getter_key: bool = False  # `'getter' => false` still marks the field notFilterable


@dataclass(frozen=True)
class Association:
    resource: str  # node name of one item
    fields: tuple[tuple[str, str | None], ...] = (("id", None),)  # (field, xlink resource)
    api: str | None = None
    settable: bool = True  # a setter method exists on the class
    read_only_attr: bool = False  # `'setter' => false` in webserviceParameters renders readOnly="true"


@dataclass
class Resource:
    api: str
    node: str
    class_name: str
    fields: list[Field]
    ws: dict[str, WsField] = field(default_factory=dict)
    associations: dict[str, Association] = field(default_factory=dict)
    forbidden_methods: tuple[str, ...] = ()
    description: str = ""
    properties: tuple[str, ...] = ()  # class properties that are neither definition nor webservice fields
    hidden: tuple[str, ...] = ()  # `hidden_fields`: never shown, never filterable
    decimals: int = 6

    def __post_init__(self) -> None:
        self.defs = {f.name: f for f in self.fields}
        self.order = ["id", *self.ws.keys(), *(f.name for f in self.fields if f.name not in self.ws)]
        self.lang_fields = [f.name for f in self.fields if f.lang]

    def has_property(self, name: str) -> bool:
        return name == "id" or name in self.defs or name in self.properties


_PRODUCT_FIELDS = [
    Field("id_shop_default", "int", validate="isUnsignedId"),
    Field("id_manufacturer", "int", validate="isUnsignedId"),
    Field("id_supplier", "int", validate="isUnsignedId"),
    Field("reference", validate="isReference", size=64),
    Field("supplier_reference", validate="isReference", size=64),
    Field("location", validate="isString", size=255),
    Field("width", "float", validate="isUnsignedFloat"),
    Field("height", "float", validate="isUnsignedFloat"),
    Field("depth", "float", validate="isUnsignedFloat"),
    Field("weight", "float", validate="isUnsignedFloat"),
    Field("quantity_discount", "bool", validate="isBool"),
    Field("ean13", validate="isEan13", size=13),
    Field("isbn", validate="isIsbn", size=32),
    Field("upc", validate="isUpc", size=12),
    Field("mpn", validate="isMpn", size=40),
    Field("cache_is_pack", "bool", validate="isBool"),
    Field("cache_has_attachments", "bool", validate="isBool"),
    Field("is_virtual", "bool", validate="isBool"),
    Field("state", "int", validate="isUnsignedId"),
    Field("additional_delivery_times", "int", validate="isUnsignedId"),
    Field("delivery_in_stock", lang=True, validate="isGenericName", size=255),
    Field("delivery_out_stock", lang=True, validate="isGenericName", size=255),
    Field(
        "product_type", validate="isGenericName", values=("standard", "pack", "virtual", "combinations", ""), default=""
    ),
    Field("id_category_default", "int", validate="isUnsignedId"),
    Field("id_tax_rules_group", "int", validate="isUnsignedId"),
    Field("on_sale", "bool", validate="isBool"),
    Field("online_only", "bool", validate="isBool"),
    Field("ecotax", "float", validate="isPrice"),
    Field("minimal_quantity", "int", validate="isPositiveInt"),
    Field("low_stock_threshold", "int", validate="isInt", allow_null=True),
    Field("low_stock_alert", "bool", validate="isBool"),
    Field("price", "float", validate="isPrice", required=True),
    Field("wholesale_price", "float", validate="isPrice"),
    Field("unity", validate="isString"),
    Field("unit_price", "float", validate="isPrice"),
    Field("unit_price_ratio", "float"),
    Field("additional_shipping_cost", "float", validate="isPrice"),
    Field("customizable", "int", validate="isUnsignedInt"),
    Field("text_fields", "int", validate="isUnsignedInt"),
    Field("uploadable_files", "int", validate="isUnsignedInt"),
    Field("active", "bool", validate="isBool"),
    Field("redirect_type", validate="isString"),
    Field("id_type_redirected", "int", validate="isUnsignedId"),
    Field("available_for_order", "bool", validate="isBool"),
    Field("available_date", "date", validate="isDateFormat"),
    Field("show_condition", "bool", validate="isBool"),
    Field("condition", validate="isGenericName", values=("new", "used", "refurbished"), default="new"),
    Field("show_price", "bool", validate="isBool"),
    Field("indexed", "bool", validate="isBool"),
    Field("visibility", validate="isProductVisibility", values=("both", "catalog", "search", "none"), default="both"),
    Field("cache_default_attribute", "int"),
    Field("advanced_stock_management", "bool", validate="isBool"),
    Field("date_add", "date", validate="isDate"),
    Field("date_upd", "date", validate="isDate"),
    Field("pack_stock_type", "int", validate="isUnsignedInt"),
    Field("meta_description", lang=True, validate="isGenericName", size=512),
    Field("meta_keywords", lang=True, validate="isGenericName", size=255),
    Field("meta_title", lang=True, validate="isGenericName", size=255),
    Field("link_rewrite", lang=True, validate="isLinkRewrite", size=128),
    Field("name", lang=True, validate="isCatalogName", size=128),
    Field("description", "html", lang=True, validate="isCleanHtml", size=4194303),
    Field("description_short", "html", lang=True, validate="isCleanHtml", size=4194303),
    Field("available_now", lang=True, validate="isGenericName", size=255),
    Field("available_later", lang=True, validate="isGenericName", size=255),
]

PRODUCT = Resource(
    "products",
    "product",
    "Product",
    _PRODUCT_FIELDS,
    ws={
        "id_manufacturer": WsField(xlink="manufacturers"),
        "id_supplier": WsField(xlink="suppliers"),
        "id_category_default": WsField(xlink="categories"),
        "new": WsField(),
        "cache_default_attribute": WsField(),
        "id_default_image": WsField(xlink="images/products", getter="cover", setter="cover"),
        "id_default_combination": WsField(
            xlink="combinations", getter="default_combination", setter="default_combination"
        ),
        "id_tax_rules_group": WsField(xlink="tax_rule_groups"),
        "position_in_category": WsField(getter="position_in_category", setter="position_in_category"),
        "manufacturer_name": WsField(getter="manufacturer_name", setter=False),
        "quantity": WsField(getter="", setter=False, has_getter_key=True),
        "type": WsField(getter="type", setter="type"),
    },
    associations={
        "categories": Association("category"),
        "images": Association("image", settable=False),
        "combinations": Association("combination", settable=False),
        "product_option_values": Association("product_option_value", settable=False),
        "product_features": Association(
            "product_feature", (("id", None), ("id_feature_value", "product_feature_values"))
        ),
        "tags": Association("tag", settable=False),
        "stock_availables": Association(
            "stock_available", (("id", None), ("id_product_attribute", None)), settable=False, read_only_attr=False
        ),
        "attachments": Association("attachment", api="attachments", settable=False),
        "accessories": Association("product", (("id", "products"),), api="products", settable=False),
        "product_bundle": Association(
            "product",
            (("id", None), ("id_product_attribute", None), ("quantity", None)),
            api="products",
            settable=False,
        ),
    },
    description="The products",
    properties=("new", "quantity"),
)

STOCK_AVAILABLE = Resource(
    "stock_availables",
    "stock_available",
    "StockAvailable",
    [
        Field("id_product", "int", validate="isUnsignedId", required=True),
        Field("id_product_attribute", "int", validate="isUnsignedId", required=True),
        Field("id_shop", "int", validate="isUnsignedId"),
        Field("id_shop_group", "int", validate="isUnsignedId"),
        Field("quantity", "int", validate="isInt", required=True, range=(-2147483648, 2147483647)),
        Field("depends_on_stock", "bool", validate="isBool", required=True),
        Field("out_of_stock", "int", validate="isInt", required=True),
        Field("location", validate="isString", size=255),
    ],
    ws={
        "id_product": WsField(xlink="products"),
        "id_product_attribute": WsField(xlink="combinations"),
        "id_shop": WsField(xlink="shops"),
        "id_shop_group": WsField(xlink="shop_groups"),
    },
    forbidden_methods=("POST", "DELETE"),
    description="Available quantities",
)

MANUFACTURER = Resource(
    "manufacturers",
    "manufacturer",
    "Manufacturer",
    [
        Field("name", validate="isCatalogName", required=True, size=64),
        Field("active", "bool"),
        Field("date_add", "date"),
        Field("date_upd", "date"),
        Field("description", "html", lang=True, validate="isCleanHtml", size=4194303),
        Field("short_description", "html", lang=True, validate="isCleanHtml", size=4194303),
        Field("meta_title", lang=True, validate="isGenericName", size=255),
        Field("meta_description", lang=True, validate="isGenericName", size=512),
        Field("meta_keywords", lang=True, validate="isGenericName"),
    ],
    ws={"active": WsField(), "link_rewrite": WsField(getter="manufacturer_link", setter=False)},
    associations={"addresses": Association("address", (("id", "addresses"),), settable=False, read_only_attr=True)},
    description="The product brands",
)

FEATURE = Resource(
    "product_features",
    "product_feature",
    "Feature",
    [
        Field("position", "int", validate="isInt"),
        Field("name", lang=True, validate="isGenericName", required=True, size=128),
    ],
    description="The product features",
)

FEATURE_VALUE = Resource(
    "product_feature_values",
    "product_feature_value",
    "FeatureValue",
    [
        Field("id_feature", "int", validate="isUnsignedId", required=True),
        Field("custom", "bool", validate="isBool"),
        Field("value", lang=True, validate="isGenericName", required=True, size=255),
    ],
    ws={"id_feature": WsField(xlink="product_features")},
    description="The product feature values",
)

CATEGORY = Resource(
    "categories",
    "category",
    "Category",
    [
        Field("nleft", "int", validate="isUnsignedInt"),
        Field("nright", "int", validate="isUnsignedInt"),
        Field("level_depth", "int", validate="isUnsignedInt"),
        Field("active", "bool", validate="isBool", required=True),
        Field("id_parent", "int", validate="isUnsignedInt"),
        Field("id_shop_default", "int", validate="isUnsignedId"),
        Field("is_root_category", "bool", validate="isBool"),
        Field("position", "int"),
        Field("date_add", "date", validate="isDate"),
        Field("date_upd", "date", validate="isDate"),
        Field("name", lang=True, validate="isCatalogName", required=True, size=128),
        Field("link_rewrite", lang=True, validate="isLinkRewrite", required=True, size=128),
        Field("description", "html", lang=True, validate="isCleanHtml"),
        Field("additional_description", "html", lang=True, validate="isCleanHtml"),
        Field("meta_title", lang=True, validate="isGenericName", size=255),
        Field("meta_description", lang=True, validate="isGenericName", size=512),
        Field("meta_keywords", lang=True, validate="isGenericName", size=255),
    ],
    ws={
        "id_parent": WsField(xlink="categories"),
        "level_depth": WsField(setter=False),
        "nb_products_recursive": WsField(getter="nb_products_recursive", setter=False),
    },
    associations={
        "categories": Association("category", settable=False),
        "products": Association("product", settable=False),
    },
    description="The product categories",
    hidden=("nleft", "nright"),
)

LANGUAGE = Resource(
    "languages",
    "language",
    "Language",
    [
        Field("name", validate="isGenericName", required=True, size=32),
        Field("iso_code", validate="isLanguageIsoCode", required=True, size=2),
        Field("locale", validate="isLocale", size=5),
        Field("language_code", validate="isLanguageCode", size=5),
        Field("active", "bool", validate="isBool"),
        Field("is_rtl", "bool", validate="isBool"),
        Field("date_format_lite", validate="isPhpDateFormat", required=True, size=32),
        Field("date_format_full", validate="isPhpDateFormat", required=True, size=32),
    ],
    description="Shop languages",
)

RESOURCES: dict[str, Resource] = {
    r.api: r for r in (CATEGORY, LANGUAGE, MANUFACTURER, FEATURE_VALUE, FEATURE, PRODUCT, STOCK_AVAILABLE)
}

# `GET /api/` lists every resource of the real shop the key may use; the sandbox's key has the ones it emulates
# plus images. Descriptions are PrestaShop's (WebserviceRequest::getResources).
API_INDEX = [
    ("categories", "The product categories", False),
    ("images", "The images", True),
    ("languages", "Shop languages", False),
    ("manufacturers", "The product brands", False),
    ("product_feature_values", "The product feature values", False),
    ("product_features", "The product features", False),
    ("products", "The products", False),
    ("stock_availables", "Available quantities", False),
]

# Every resource name of PrestaShop 8.2 (for "did you mean" on an unknown resource).
ALL_RESOURCE_NAMES = [
    "addresses",
    "attachments",
    "carriers",
    "carts",
    "cart_rules",
    "categories",
    "combinations",
    "configurations",
    "contacts",
    "countries",
    "currencies",
    "customers",
    "customer_threads",
    "customer_messages",
    "deliveries",
    "groups",
    "guests",
    "images",
    "image_types",
    "languages",
    "manufacturers",
    "messages",
    "order_carriers",
    "order_cart_rules",
    "order_details",
    "order_histories",
    "order_invoices",
    "orders",
    "order_payments",
    "order_states",
    "order_slip",
    "price_ranges",
    "product_customization_fields",
    "product_features",
    "product_feature_values",
    "product_options",
    "product_option_values",
    "products",
    "states",
    "stores",
    "suppliers",
    "tags",
    "translated_configurations",
    "weight_ranges",
    "zones",
    "employees",
    "search",
    "content_management_system",
    "shops",
    "shop_groups",
    "taxes",
    "stock_movements",
    "stock_movement_reasons",
    "warehouses",
    "stocks",
    "stock_availables",
    "warehouse_product_locations",
    "supply_orders",
    "supply_order_details",
    "supply_order_states",
    "supply_order_histories",
    "supply_order_receipt_histories",
    "product_suppliers",
    "tax_rules",
    "tax_rule_groups",
    "specific_prices",
    "specific_price_rules",
    "shop_urls",
    "product_customization_fields",
    "customizations",
]
