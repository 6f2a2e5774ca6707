"""Snowplow's Node tracker against a running ``sptk micro``: every event type over GET and POST, read back from
Micro's API with its verdict (the driver, ``node_tracker_send.cjs``, is shared with the adapter's field tests)."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.collector.test_node_tracker_fields import DRIVER, MODULES, _node
from tests.integration.collector.test_trackers import Process, api, micro, resolver

__all__ = ["micro", "resolver"]  # the fixtures, imported so pytest finds them

CLICK = "iglu:com.acme/button_click/jsonschema/1-0-0"
PRODUCT = "iglu:com.acme/product/jsonschema/1-0-0"


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_node_tracker_s_every_event_type_reaches_micro_good_and_bad(micro: Process, method: str,
                                                                       tmp_path: Path) -> None:
    node = _node()
    done = subprocess.run([node, str(DRIVER), str(micro.port), method], env={**os.environ, "NODE_PATH": str(MODULES)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert api(micro.port, "/micro/all") == {"total": 8, "good": 7, "bad": 1}
    good = api(micro.port, "/micro/good")
    assert Counter(i["eventType"] for i in good) == Counter(
        {"unstruct": 2, "page_view": 1, "page_ping": 1, "struct": 1, "transaction": 1, "transaction_item": 1})
    assert {i["event"]["app_id"] for i in good} == {"shop-🛒"}
    [view] = api(micro.port, "/micro/good", {"event_type": "page_view"})
    assert view["contexts"] == [PRODUCT] and view["event"]["page_title"] == "Café – Tassen 😀"
    assert view["event"]["contexts_com_acme_product_1"][0]["name"] == "Tasse « Ünïcödé » ☕"
    [struct] = api(micro.port, "/micro/good", {"event_type": "struct", "contexts": [PRODUCT]})
    assert struct["event"]["se_value"] == 12.5 and struct["event"]["se_label"] == "Tasse 😀"
    [click] = api(micro.port, "/micro/good", {"schema": CLICK, "event_type": "unstruct"})
    assert click["event"]["unstruct_event_com_acme_button_click_1"] == {"id": "buy", "label": "Jetzt kaufen – ✓"}
    [bad] = api(micro.port, "/micro/bad")
    assert CLICK in bad["errors"][0] and "'id' is a required property" in bad["errors"][0]
