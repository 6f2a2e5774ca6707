// Sends every event type @snowplow/node-tracker has to http://127.0.0.1:<port> with <get|post>.
// Run by test_node_tracker_fields.py with NODE_PATH pointing at .cache/node-tracker/node_modules.
const sp = require("@snowplow/node-tracker");

async function main() {
  const [port, method] = process.argv.slice(2);
  const tracker = sp.newTracker(
    { namespace: "node-ns", appId: "shop-🛒", encodeBase64: method === "get" },
    { endpoint: "127.0.0.1", protocol: "http", port: Number(port), eventMethod: method,
      bufferSize: method === "get" ? 1 : 50 });
  tracker.setPlatform("srv");
  tracker.setUserId("jürgen@acme");
  tracker.setScreenResolution("1920", "1080");
  tracker.setViewport("800", "600");
  tracker.setColorDepth("24");
  tracker.setTimezone("Europe/Berlin");
  tracker.setLang("de-DE");
  tracker.setDomainUserId("duid-1");
  tracker.setSessionId("7c0a7a52-1f3a-4b8e-9a83-2b1c6a3f5d11");
  tracker.setSessionIndex(3);
  tracker.setUseragent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    + "Version/17.1 Safari/605.1.15");
  const product = { schema: "iglu:com.acme/product/jsonschema/1-0-0",
                    data: { sku: "TASSE-1", name: "Tasse « Ünïcödé » ☕", price: 12.5 } };
  const page = "https://shop.acme.com/caf%C3%A9?utm_source=newsletter&msclkid=M-7";
  const referrer = "https://www.bing.com/search?q=tasse";
  tracker.track(sp.buildPageView({ pageUrl: page, pageTitle: "Café – Tassen 😀", referrer }), [product]);
  tracker.track(sp.buildPagePing({ pageUrl: page, pageTitle: "Café – Tassen 😀", referrer,
                                   minXOffset: 5, maxXOffset: 10, minYOffset: 20, maxYOffset: 900 }));
  tracker.track(sp.buildStructEvent({ category: "shop", action: "add-to-basket", label: "Tasse 😀",
                                      property: "colour", value: 12.5 }), [product]);
  tracker.track(sp.buildSelfDescribingEvent({ event: { schema: "iglu:com.acme/button_click/jsonschema/1-0-0",
                                                       data: { id: "buy", label: "Jetzt kaufen – ✓" } } }));
  tracker.track(sp.buildSelfDescribingEvent({ event: { schema: "iglu:com.acme/button_click/jsonschema/1-0-0",
                                                       data: { label: "no id" } } }));
  tracker.track(sp.buildScreenView({ name: "Startseite", id: "screen-1" }));
  tracker.track(sp.buildEcommerceTransaction({ orderId: "order-7", total: 25, affiliation: "web-shop", tax: 4.75,
                                               shipping: 3.5, city: "Köln", state: "NRW", country: "DE",
                                               currency: "EUR" }));
  tracker.track(sp.buildEcommerceTransactionItem({ orderId: "order-7", sku: "TASSE-1", price: 12.5, quantity: 2,
                                                   name: "Tasse ☕", category: "Küche", currency: "EUR" }));
  await tracker.flush();
}

main().catch((error) => { console.error(error); process.exit(1); });
