#!/usr/bin/python3
"""Drives Evolution Data Server's CardDAV address book through GObject introspection.

tests/client_eds.rs runs it under `dbus-run-session` (EDS's registry and address-book
factory are activated on that private bus) with HOME and the XDG directories in a temporary
directory. It reads one command a line on stdin and answers one JSON line on stdout:
  version                    -> {"version": EDS's version, e.g. "3.46.4"}
  discover URL USER PASSWORD -> e_webdav_discover_sources_sync from URL:
                                {"books": [{"href", "name"}...]}
  open URL USER PASSWORD     -> writes the book's .source key file (a CardDAV book at URL),
                                opens it and gives the backend the password the way a
                                credentials prompt does (e_source_invoke_authenticate_sync)
  refresh                    -> e_book_client_refresh_sync (the backend syncs in the background)
  count                      -> {"count": contacts in the local cache}
  list                       -> {"cards": [vCard 3.0 text of every contact in the local cache]}
  modify NAME                -> gives the contact named NAME a nickname (modify_contact_sync)
  remove NAME                -> removes the contact named NAME (remove_contact_sync)
  quit
A failed call answers {"error": "domain: code: message"}.
"""
import json
import os
import sys
import time
import urllib.parse

import gi

gi.require_version("EDataServer", "1.2")
gi.require_version("EBook", "1.2")
gi.require_version("EBookContacts", "1.2")
from gi.repository import EBook, EBookContacts, EDataServer, GLib  # noqa: E402

UID = "cardbridge-book"
state = {}


def credentials(user, password):
    found = EDataServer.NamedParameters.new()
    found.set("username", user)
    found.set("password", password)
    return found


def source_file(url, user):
    """The key file Evolution writes for a CardDAV book it was told the URL of."""
    parts = urllib.parse.urlsplit(url)
    return f"""[Data Source]
DisplayName=cardbridge
Enabled=true
Parent=

[Address Book]
BackendName=carddav

[Authentication]
Host={parts.hostname}
Method=plain/password
Port={parts.port}
User={user}
RememberPassword=false

[Security]
Method=none

[WebDAV Backend]
ResourcePath={parts.path}
DisplayName=cardbridge

[Offline]
StaySynchronized=true

[Refresh]
Enabled=false
"""


def discover(url, user, password):
    parts = urllib.parse.urlsplit(url)
    source = EDataServer.Source.new(None, None)
    auth = source.get_extension(EDataServer.SOURCE_EXTENSION_AUTHENTICATION)
    auth.set_host(parts.hostname)
    auth.set_port(parts.port)
    auth.set_user(user)
    source.get_extension(EDataServer.SOURCE_EXTENSION_WEBDAV_BACKEND)
    found = EDataServer.webdav_discover_sources_sync(
        source,
        url,
        EDataServer.WebDAVDiscoverSupports.CONTACTS,
        credentials(user, password),
        None,
    )
    books = found[3] if isinstance(found, tuple) else []
    return {"books": [{"href": b.href, "name": b.display_name} for b in books or []]}


def open_book(url, user, password):
    sources = os.path.join(GLib.get_user_config_dir(), "evolution", "sources")
    os.makedirs(sources, exist_ok=True)
    with open(os.path.join(sources, UID + ".source"), "w") as f:
        f.write(source_file(url, user))
    registry = EDataServer.SourceRegistry.new_sync(None)
    # A registry already running picks the new file up through its file monitor.
    context = GLib.MainContext.default()
    deadline = time.monotonic() + 30
    while registry.ref_source(UID) is None and time.monotonic() < deadline:
        context.iteration(False) or time.sleep(0.05)
    source = registry.ref_source(UID)
    if source is None:
        return {"error": "the source registry did not load the .source file"}
    # Not waiting for the backend to connect: it cannot before it has the password.
    client = EBook.BookClient.connect_sync(source, 1, None)
    source.invoke_authenticate_sync(credentials(user, password), None)
    state.update(registry=registry, source=source, client=client)
    return {"ok": True}


def contacts():
    _, found = state["client"].get_contacts_sync("", None)
    return found


def by_name(name):
    for contact in contacts():
        if contact.get_property("full-name") == name:
            return contact
    raise LookupError(f"no contact named {name}")


def run(cmd, args):
    client = state.get("client")
    if cmd == "version":
        v = EDataServer
        return {"version": f"{v.EDS_MAJOR_VERSION}.{v.EDS_MINOR_VERSION}.{v.EDS_MICRO_VERSION}"}
    if cmd == "discover":
        return discover(*args)
    if cmd == "open":
        return open_book(*args)
    if cmd == "refresh":
        client.refresh_sync(None)
        return {"ok": True}
    if cmd == "count":
        _, uids = client.get_contacts_uids_sync("", None)
        return {"count": len(uids)}
    if cmd == "list":
        v30 = getattr(EBookContacts.VCardFormat, "30")  # EVC_FORMAT_VCARD_30
        return {"cards": [c.to_string(v30) for c in contacts()]}
    if cmd == "modify":
        contact = by_name(" ".join(args))
        contact.set_property("nickname", "Edited in Evolution")
        client.modify_contact_sync(contact, EBookContacts.BookOperationFlags.NONE, None)
        return {"ok": True}
    if cmd == "remove":
        client.remove_contact_sync(by_name(" ".join(args)), EBookContacts.BookOperationFlags.NONE, None)
        return {"ok": True}
    return {"error": f"unknown command {cmd}"}


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            result = run(words[0], words[1:])
        except GLib.Error as e:
            result = {"error": f"{e.domain}: {e.code}: {e.message}"}
        except LookupError as e:
            result = {"error": str(e)}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
