"""Static reference data of the simulated business: Deskly, a small shop for standing desks and
home-office gear (B2C and small-business buyers). Names, pages, products, channels, campaigns."""

from __future__ import annotations

import polars as pl

SITE = "https://www.deskly.example"
SHOP_DOMAIN = "deskly.myshopify.com"
LIST_ID = "b7d1e2f3a4"
CURRENCY = "EUR"
MATOMO_SITE_ID = 1

FIRST_NAMES = [
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannah", "Ida", "Jonas",
    "Karla", "Lukas", "Mia", "Noah", "Olivia", "Paul", "Quentin", "Rosa", "Sophie", "Tim",
    "Ursula", "Viktor", "Wiebke", "Xaver", "Yara", "Zoe", "Emil", "Lea", "Finn", "Marie",
    "Jan", "Laura", "Moritz", "Nina", "Oskar", "Pia", "Rafael", "Sara", "Tobias", "Vera",
    "Aylin", "Mehmet", "Chiara", "Luca", "Amelie", "Henrik", "Ines", "Kemal", "Leonie", "Milan",
]  # fmt: skip
LAST_NAMES = [
    "Schmidt", "Mueller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schroeder", "Neumann", "Schwarz", "Braun",
    "Zimmermann", "Hartmann", "Krueger", "Lange", "Werner", "Lehmann", "Koehler", "Walter",
    "Maier", "Koenig", "Huber", "Kaiser", "Fuchs", "Peters", "Jung", "Moeller", "Scholz",
    "Yilmaz", "Rossi", "Novak", "Jansen", "Berger", "Vogel", "Roth", "Frank", "Beck", "Lorenz",
    "Baumann", "Graf", "Seidel", "Brandt", "Haas",
]  # fmt: skip
FREEMAIL_DOMAINS = {
    "gmail.com": 30, "gmx.de": 18, "web.de": 16, "outlook.com": 8, "t-online.de": 8,
    "yahoo.com": 5, "icloud.com": 6, "posteo.de": 3, "hotmail.com": 6,
}  # fmt: skip
COMPANY_WORDS = [
    "nordlicht", "bergwerk", "kreativ", "datenhaus", "blauwal", "sonnenweg", "hafen", "pixel",
    "werkraum", "lindenhof", "rheinblick", "studio-acht", "feldweg", "kompass", "zeitgeist",
]  # fmt: skip
COMPANY_SUFFIXES = [
    "gmbh.de",
    "consulting.de",
    "design.com",
    "partner.de",
    "agentur.de",
]  # after "word<n>-"
GENERIC_LOCAL_PARTS = ["info", "sales", "office"]

# (handle, title, price in cents)
PRODUCTS = [
    ("standing-desk-pro", "Standing Desk Pro", 54900),
    ("standing-desk-basic", "Standing Desk Basic", 39900),
    ("ergonomic-chair", "Ergonomic Chair", 32900),
    ("monitor-arm", "Monitor Arm Duo", 8900),
    ("desk-mat", "Felt Desk Mat", 3900),
    ("cable-tray", "Cable Tray", 2900),
    ("footrest", "Adjustable Footrest", 4900),
    ("laptop-stand", "Aluminium Laptop Stand", 5900),
    ("desk-lamp", "LED Desk Lamp", 6900),
    ("anti-fatigue-mat", "Anti-Fatigue Mat", 7900),
    ("desk-drawer", "Under-Desk Drawer", 4500),
    ("acoustic-panel", "Acoustic Panel Set", 12900),
]
PRODUCT_WEIGHTS = [14, 12, 10, 9, 8, 6, 5, 8, 7, 5, 4, 3]
PRODUCT_ID_BASE = 8_800_000_000_000
VARIANT_ID_BASE = 45_000_000_000_000

CONTENT_PAGES = [  # (path, title, browse weight)
    ("/", "Deskly – standing desks for better work days", 14),
    ("/collections/all", "All products – Deskly", 10),
    ("/pricing", "Office plans and pricing – Deskly", 5),
    ("/compare", "Compare our desks – Deskly", 4),
    ("/case-studies/nordlicht-agency", "Case study: Nordlicht Agency – Deskly", 1.5),
    ("/case-studies/datenhaus", "Case study: Datenhaus – Deskly", 1.5),
    ("/case-studies/remote-team-setup", "Case study: a remote team setup – Deskly", 1),
    ("/blog/sitting-vs-standing", "Sitting vs standing: what the research says – Deskly", 4),
    ("/blog/home-office-checklist", "The home-office checklist – Deskly", 4),
    ("/blog/desk-height-guide", "How high should your desk be? – Deskly", 3.5),
    ("/blog/cable-management", "Cable management in ten minutes – Deskly", 2.5),
    ("/blog/back-pain-tips", "Seven habits against back pain – Deskly", 3),
    ("/blog/monitor-setup", "The perfect monitor setup – Deskly", 2),
    ("/about", "About us – Deskly", 2),
    ("/faq", "Frequently asked questions – Deskly", 3),
    ("/shipping", "Shipping and returns – Deskly", 2),
]
PRODUCT_PAGE_SHARE = 0.38  # share of browse page views that are product pages
PRODUCT_PATH_PREFIXES = [
    "/products/",
    "/pricing",
    "/case-studies/",
    "/compare",
]  # seed page_categories

BOT_BROWSERS = ["HeadlessChrome"]  # seed bot_browsers (the browser-based bot rule)

BROWSERS = {  # browserName: (weight, operating systems, device types)
    "Chrome": 42, "Safari": 24, "Firefox": 12, "Microsoft Edge": 10, "Samsung Internet": 5,
    "Chrome Mobile": 7,
}  # fmt: skip
OPERATING_SYSTEMS = {"Windows": 38, "Mac": 20, "iOS": 22, "Android": 17, "GNU/Linux": 3}
DEVICE_TYPES = {"desktop": 55, "smartphone": 38, "tablet": 7}

# Acquisition channels of a visit (not email: email visits come from clicks).
# (name, referrerType, first-visit weight, later-visit weight)
CHANNELS = [
    ("organic_search", "search", 30, 24),
    ("social", "social", 12, 7),
    ("paid_search", "campaign", 14, 8),
    ("paid_social", "campaign", 9, 5),
    ("display", "campaign", 4, 2),
    ("referral", "website", 8, 5),
    ("direct", "direct", 23, 49),
]
SEARCH_ENGINES = {"Google": ("https://www.google.com/", 80), "Bing": ("https://www.bing.com/", 12),
                  "DuckDuckGo": ("https://duckduckgo.com/", 8)}  # fmt: skip
SOCIAL_SITES = {"Facebook": ("https://www.facebook.com/", 35), "Instagram": ("https://www.instagram.com/", 35),
                "LinkedIn": ("https://www.linkedin.com/", 20), "Pinterest": ("https://www.pinterest.com/", 10)}  # fmt: skip
REFERRAL_SITES = {
    "homeoffice-magazin.example": ("https://homeoffice-magazin.example/beste-steh-schreibtische/", 40),
    "ergonomie-blog.example": ("https://ergonomie-blog.example/test-deskly-pro/", 30),
    "startup-toolbox.example": ("https://startup-toolbox.example/office/", 30),
}  # fmt: skip

# Paid campaigns (UTM campaigns and marketing-spend rows share these names).
# (source, medium, campaign, spend channel, first active day offset, last day offset or None, weight, cost per click cents)
PAID_CAMPAIGNS = pl.DataFrame(
    [
        ("google", "cpc", "brand_search", "paid_search", 0, None, 40, 45),
        ("google", "cpc", "generic_standing_desk", "paid_search", 0, None, 45, 120),
        ("google", "cpc", "spring_sale_search", "paid_search", 59, 120, 15, 95),
        ("facebook", "paid_social", "prospecting_lookalike", "paid_social", 0, None, 55, 70),
        ("facebook", "paid_social", "retargeting_cart", "paid_social", 14, None, 30, 55),
        ("facebook", "paid_social", "summer_sale_social", "paid_social", 151, 242, 15, 65),
        ("gdn", "display", "display_remarketing", "display", 0, None, 100, 30),
    ],
    schema=[
        "source",
        "medium",
        "campaign",
        "channel",
        "first_day",
        "last_day",
        "weight",
        "cpc_cents",
    ],
    orient="row",
)
ORGANIC_SOCIAL_UTM = ("instagram", "social", "bio_link")

# Mailchimp automations: (key, title, subject, link path)
AUTOMATIONS = [
    (
        "welcome",
        "Welcome series – email 1",
        "Welcome to Deskly: 10% off your first desk",
        "/collections/all",
    ),
    (
        "abandoned_checkout",
        "Abandoned checkout reminder",
        "You left something in your cart",
        "/cart",
    ),
    (
        "post_purchase",
        "Post-purchase onboarding",
        "Setting up your new Deskly gear",
        "/blog/desk-height-guide",
    ),
    ("review_request", "Review request", "How do you like your purchase?", "/pages/reviews"),
    ("win_back", "Win-back", "We miss you – here is 15% off", "/collections/all"),
]
NEWSLETTER_LINKS = [
    "/blog/sitting-vs-standing", "/blog/home-office-checklist", "/blog/desk-height-guide",
    "/blog/back-pain-tips", "/products/standing-desk-pro", "/products/ergonomic-chair",
    "/collections/all", "/compare",
]  # fmt: skip

TICKET_SUBJECTS_PRE = ["Question about desk dimensions", "Do you offer office plans?",
                       "Delivery time to Austria?", "Which desk fits a small room?"]  # fmt: skip
TICKET_SUBJECTS_POST = ["Where is my order?", "Desk motor makes noise", "Missing screws in package",
                        "Request a refund", "How do I pair the controller?", "Invoice with company address"]  # fmt: skip
CSAT_COMMENTS = {"good": ["Quick and friendly help, thanks!", "Problem solved.", ""],
                 "bad": ["Took far too long.", "Still not fixed.", ""]}  # fmt: skip
NPS_COMMENTS = {
    "promoter": ["Love the desk, told my colleagues.", "Great quality and fast delivery.", ""],
    "passive": ["Good product, delivery was slow.", "Fine.", ""],
    "detractor": ["Assembly instructions were confusing.", "Support took too long.", ""],
}
REVIEW_TITLES = {
    5: "Excellent!",
    4: "Very good",
    3: "Okay",
    2: "Disappointing",
    1: "Not recommended",
}

AGENTS = [("Lena Vogt", "lena@deskly.example"), ("Max Brenner", "max@deskly.example"),
          ("Sina Akbari", "sina@deskly.example"), ("Tom Richter", "tom@deskly.example")]  # fmt: skip
TEST_ORDER_EMAIL = "qa+{}@deskly.example"

FIXED_PAGES = {
    "/cart": "Your cart – Deskly",
    "/checkout": "Checkout – Deskly",
    "/checkout/thank-you": "Thank you for your order – Deskly",
    "/contact": "Contact us – Deskly",
    "/pages/newsletter": "Newsletter – Deskly",
    "/pages/office-guide": "Free office planning guide – Deskly",
    "/pages/reviews": "Customer reviews – Deskly",
    "/account": "Your account – Deskly",
    "/search": "Search results – Deskly",
}

# Matomo action types beyond page views and events (contracts §1.5), as a real site sends them.
SEARCH_TERMS = ["standing desk", "ergonomic chair", "monitor arm", "desk mat", "cable tray",
                "desk lamp", "office plan", "delivery time"]  # fmt: skip
DOWNLOADS = [f"/files/{handle}-spec-sheet.pdf" for handle, _, _ in PRODUCTS[:4]] + [
    "/files/deskly-catalogue-2026.pdf"
]
OUTLINKS = ["https://www.youtube.com/@deskly", "https://www.instagram.com/deskly/",
            "https://www.trustpilot.com/review/deskly.example",
            "https://www.dhl.de/en/privatkunden/pakete-empfangen.html"]  # fmt: skip
CONTENT_BLOCKS = ["Hero banner", "Newsletter teaser", "Bestseller carousel"]
VIDEOS = ["Standing Desk Pro in 60 seconds", "Assembling the Ergonomic Chair"]


def pages() -> pl.DataFrame:
    """Every page of the site: path, title, pageIdAction, browse weight."""
    products = [
        (f"/products/{h}", f"{t} – Deskly", w)
        for (h, t, _), w in zip(PRODUCTS, PRODUCT_WEIGHTS, strict=True)
    ]
    content_weight = sum(w for *_, w in CONTENT_PAGES)
    product_weight = sum(w for *_, w in products)
    scale = PRODUCT_PAGE_SHARE / (1 - PRODUCT_PAGE_SHARE) * content_weight / product_weight
    rows = [(p, t, float(w)) for p, t, w in CONTENT_PAGES]
    rows += [(p, t, w * scale) for p, t, w in products]
    rows += [(p, t, 0.0) for p, t in FIXED_PAGES.items()]
    frame = pl.DataFrame(rows, schema=["path", "title", "weight"], orient="row")
    return frame.with_columns(page_id_action=pl.int_range(pl.len()) * 3 + 11)


ACTION_TYPES = pl.Enum(
    ["action", "event", "goal", "ecommerceOrder", "ecommerceAbandonedCart", "search", "download",
     "outlink", "content", "media", "form"]
)  # fmt: skip
PATHS = pl.Enum([*pages()["path"].to_list(), *DOWNLOADS, *OUTLINKS])  # outlinks: absolute URLs
