"""Send one of every event type the Python tracker (``snowplow-tracker``) has to a collector.

Used by the real-tracker tests and by ``scripts/demo``: ``python examples/trackers/python_tracker.py
http://127.0.0.1:9090 [get|post] [APP_ID] [--core]`` sends the events and prints ``{"app_id", "sent", "failed"}``.
``--core`` leaves out the events whose schemas live in Iglu Central (screen view, link click, cart, site
search), so a resolver with only ``examples/iglu`` validates every one of them.
Each event carries something that tells it apart (its type, a marker in a field), so a check can find
it among the others; one self-describing event breaks its schema on purpose and must land in bad.
"""

from __future__ import annotations

import json
import sys
import uuid
import warnings
from typing import Any
from urllib.parse import urlsplit

from snowplow_tracker import (
    Emitter,
    PagePing,
    PageView,
    ScreenView,
    SelfDescribing,
    SelfDescribingJson,
    StructuredEvent,
    Subject,
    Tracker,
)

PRODUCT = "iglu:com.acme/product/jsonschema/1-0-0"
CLICK = "iglu:com.acme/button_click/jsonschema/1-0-0"
PAGE = "https://shop.example/caf%C3%A9?utm_source=news&utm_medium=email&utm_campaign=spring"
#: the accents, currency sign and emoji must come out of the pipeline as they went in
TITLE = "Café crème – 5 € 🎉"


def send_all(collector: str, method: str, app_id: str, *, core: bool = False) -> dict[str, Any]:
    """Track every event type once through ``collector`` with ``method`` (``get`` or ``post``)."""
    url = urlsplit(collector)
    sent: list[int] = []
    failed: list[Any] = []
    emitter = Emitter(url.hostname or "127.0.0.1", protocol=url.scheme or "http", port=url.port, method=method,
                      batch_size=1 if method == "get" else 4, on_success=lambda ok: sent.append(len(ok)),
                      on_failure=lambda n, bad: failed.append(bad))
    subject = Subject().set_user_id("tester-1").set_lang("fr-FR").set_timezone("Europe/Paris")
    tracker = Tracker(namespace="tests", emitters=emitter, subject=subject, app_id=app_id, encode_base64=False)
    product = SelfDescribingJson(PRODUCT, {"sku": "sku-é1", "name": "Crème brûlée", "price": 4.5})
    tracker.track(PageView(page_url=PAGE, page_title=TITLE, referrer="https://www.google.com/search?q=cr%C3%A8me",
                           context=[product]))
    tracker.track(PagePing(page_url=PAGE, page_title=TITLE, min_x=0, max_x=100, min_y=5, max_y=500))
    tracker.track(StructuredEvent(category="shop", action="add-to-basket", label="sku-é1", property_="size",
                                  value=42.5))
    tracker.track(SelfDescribing(SelfDescribingJson(CLICK, {"id": "buy", "label": "Acheter"}), context=[product]))
    tracker.track(SelfDescribing(SelfDescribingJson(CLICK, {"id": 7, "colour": "red"})))  # breaks its schema
    with warnings.catch_warnings():  # the tracker calls its older per-type methods deprecated; they still send
        warnings.simplefilter("ignore", DeprecationWarning)
        if not core:
            tracker.track(ScreenView(id_=str(uuid.uuid4()), name="home"))
            tracker.track_link_click("https://shop.example/next", element_id="next", element_classes=["btn"])
            tracker.track_add_to_cart("sku-é1", 2, name="Crème brûlée", unit_price=4.5, currency="EUR")
            tracker.track_remove_from_cart("sku-é1", 1, unit_price=4.5)
            tracker.track_site_search(["crème", "brûlée"], filters={"category": "desserts"}, total_results=3)
        tracker.track_ecommerce_transaction("order-1", 9.0, currency="EUR", items=[
            {"sku": "sku-é1", "price": 4.5, "quantity": 2, "name": "Crème brûlée"}])
    tracker.flush()
    return {"app_id": app_id, "method": method, "sent": sum(sent), "failed": len(failed)}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--core"]
    target = args[0] if args else "http://127.0.0.1:9090"
    how = args[1] if len(args) > 1 else "post"
    print(json.dumps(send_all(target, how, args[2] if len(args) > 2 else f"demo-{how}", core="--core" in sys.argv)))
