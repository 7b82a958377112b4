"""Drives the `caldav` PyPI library against cardbridge for tests/client_caldav.rs.

caldav 3.6 has no address-book API, so this uses its generic DAV layer the way its own
calendar code syncs: `DAVClient.principal()` and a PROPFIND of the principal for discovery,
`DAVObject.children()` to list the books, `Calendar.get_objects_by_sync_token()` (a collection
object with nothing calendar-specific on this path) for RFC 6578 sync, including its paging
through truncated replies, and `DAVClient.report()` for addressbook-multiget. caldav never
sends DAV:limit, so `PagingClient` adds one to its sync-collection body: the server then cuts
each reply at that many members, and caldav's own loop follows the 507 and the new token.

Each run is one step of an app's life; the local copy lives in a JSON state file between
steps, and every step prints a JSON report on stdout.

  driver.py discover URL USER PASSWORD
  driver.py first URL USER PASSWORD STATE BOOK PAGE      (BOOK: the book URL's last segment)
  driver.py sync URL USER PASSWORD STATE PAGE
  driver.py fetch URL USER PASSWORD BOOK_URL             (a sync from scratch, or the error)
  driver.py write URL USER PASSWORD STATE                (edit + PUT, delete + DELETE, PUT new, MKCOL)
"""

import json
import sys
import time
from xml.sax.saxutils import escape

import caldav
from caldav.collection import Calendar
from caldav.davobject import DAVObject
from caldav.elements import dav
from caldav.elements.base import BaseElement, ValuedBaseElement
from caldav.lib import error
from lxml import etree

CARDDAV = "urn:ietf:params:xml:ns:carddav"
ADDRESSBOOK = "{%s}addressbook" % CARDDAV
MULTIGET_BATCH = 100


class AddressbookHomeSet(BaseElement):
    tag = "{%s}addressbook-home-set" % CARDDAV


class AddressData(BaseElement):
    tag = "{%s}address-data" % CARDDAV


class Limit(BaseElement):
    tag = "{DAV:}limit"


class NResults(ValuedBaseElement):
    tag = "{DAV:}nresults"


class PagingClient(caldav.DAVClient):
    """caldav's client, asking for at most `page` members per sync-collection reply."""

    page = None

    def _build_sync_collection_body(self, sync_token=None, props=None, sync_level="1"):
        body = caldav.DAVClient._build_sync_collection_body(sync_token, props, sync_level)
        if self.page is None:
            return body
        root = etree.fromstring(body)
        root.append((Limit() + NResults(str(self.page))).xmlelement())
        return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def client(url, user, password, page=None):
    c = PagingClient(url=url, username=user, password=password)
    c.page = page
    return c


def discover(url, user, password):
    return find_books(client(url, user, password))


def find_books(c):
    principal = c.principal()
    home = principal.get_property(AddressbookHomeSet())
    books = DAVObject(client=c, url=c.url.join(home)).children(type=ADDRESSBOOK)
    return {
        "principal": str(principal.url),
        "home": str(c.url.join(home)),
        "books": [{"url": str(u), "name": name} for (u, _types, name) in books],
    }


def sync_book(c, book_url, token):
    """One `get_objects_by_sync_token` (all its pages): new token, changed hrefs, deleted hrefs,
    and how many pages it took."""
    pages = []
    original = c.report

    def counting_report(*args, **kwargs):
        pages.append(1)
        return original(*args, **kwargs)

    c.report = counting_report
    book = Calendar(client=c, url=book_url)
    try:
        result = book.get_objects_by_sync_token(sync_token=token, disable_fallback=True)
    finally:
        c.report = original
    deleted = {str(u) for u in result.deleted_urls}
    changed = [str(o.url) for o in result.objects if str(o.url.canonical()) not in deleted]
    return result.sync_token, result.truncated, changed, sorted(deleted), len(pages)


def multiget(c, book_url, urls):
    """url -> {etag, data} for `urls`, in addressbook-multiget batches."""
    cards = {}
    for start in range(0, len(urls), MULTIGET_BATCH):
        hrefs = "".join(
            "<D:href>%s</D:href>" % escape(str(c.url.join(u).path))
            for u in urls[start : start + MULTIGET_BATCH]
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="%s">'
            "<D:prop><D:getetag/><C:address-data/></D:prop>%s</C:addressbook-multiget>"
        ) % (CARDDAV, hrefs)
        response = c.report(book_url, body, depth=None)
        if response.status != 207:
            raise error.ReportError("multiget answered %s" % response.status)
        found = response.expand_simple_props([dav.GetEtag(), AddressData()])
        for href, props in found.items():
            cards[str(c.url.join(href))] = {
                "etag": props.get(dav.GetEtag.tag),
                "data": props.get(AddressData.tag),
            }
    return cards


def first(url, user, password, state_path, book_name, page):
    c = client(url, user, password, int(page))
    found = find_books(c)
    book = next(b["url"] for b in found["books"] if b["url"].rstrip("/").endswith("/" + book_name))
    token, truncated, changed, deleted, pages = sync_book(c, book, None)
    state = {"book": book, "token": token, "cards": multiget(c, book, changed)}
    save(state_path, state)
    return {**state, "truncated": truncated, "pages": pages, "deleted": deleted}


def sync(url, user, password, state_path, page):
    state = load(state_path)
    c = client(url, user, password, int(page))
    token, truncated, changed, deleted, pages = sync_book(c, state["book"], state["token"])
    cards = {u: card for u, card in state["cards"].items() if u not in deleted}
    cards.update(multiget(c, state["book"], changed))
    state = {"book": state["book"], "token": token, "cards": cards}
    save(state_path, state)
    return {**state, "truncated": truncated, "pages": pages, "changed": changed, "deleted": deleted}


def fetch(url, user, password, book_url):
    c = client(url, user, password)
    try:
        _token, _truncated, changed, _deleted, _pages = sync_book(c, book_url, None)
        return {"cards": multiget(c, book_url, changed)}
    except error.DAVError as e:
        return {"error": "%s %s" % (type(e).__name__, e), "status": e.status,
                "preconditions": e.preconditions}


def attempt(call):
    """What the user of the library sees for a write: the status, or the error raised."""
    try:
        response = call()
        return {"status": response.status, "raised": None, "preconditions": []}
    except error.DAVError as e:
        return {"status": e.status, "raised": type(e).__name__,
                "preconditions": e.preconditions}


def write(url, user, password, state_path):
    """The user edits one card and deletes another: the app applies both to its local copy,
    then sends them; it also tries to create a card and a collection."""
    state = load(state_path)
    c = client(url, user, password)
    (edited, card), (removed, gone) = sorted(state["cards"].items())[:2]
    data = card["data"].replace("FN:", "FN:Edited ", 1)
    state["cards"][edited] = {"etag": card["etag"], "data": data}
    del state["cards"][removed]
    save(state_path, state)
    new = state["book"] + "created-by-caldav.vcf"
    vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:created-by-caldav\r\nFN:Created\r\nN:;Created;;;\r\nEND:VCARD\r\n"
    vcard_type = "text/vcard; charset=utf-8"
    return {
        "update": attempt(lambda: c.put(edited, data, {"If-Match": card["etag"],
                                                       "Content-Type": vcard_type})),
        "delete": attempt(lambda: c.delete(removed, {"If-Match": gone["etag"]})),
        "create": attempt(lambda: c.put(new, vcard, {"If-None-Match": "*",
                                                     "Content-Type": vcard_type})),
        "mkcol": attempt(lambda: c.mkcol(state["book"] + "sub/", "")),
        "edited": edited,
        "deleted": removed,
    }


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path, state):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f)


COMMANDS = {"discover": discover, "first": first, "sync": sync, "fetch": fetch, "write": write}

if __name__ == "__main__":
    command, *args = sys.argv[1:]
    started = time.monotonic()
    report = COMMANDS[command](*args)
    report["millis"] = int((time.monotonic() - started) * 1000)
    json.dump(report, sys.stdout)
