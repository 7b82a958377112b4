// Runs in Thunderbird's chrome context through Marionette (WebDriver:ExecuteAsyncScript):
// drives Thunderbird's own CardDAV code, as its "Add CardDAV Address Book" dialog and its sync
// timer do, and reports what the user would see. Called as (op, ...args, resolve); resolves
// with {value} or {error}. tests/support/marionette.rs sends it, tests/client_thunderbird.rs
// says what to do.

const { CardDAVUtils } = ChromeUtils.importESModule(
  "resource:///modules/CardDAVUtils.sys.mjs"
);
const { CardDAVDirectory } = ChromeUtils.importESModule(
  "resource:///modules/CardDAVDirectory.sys.mjs"
);
const { MailServices } = ChromeUtils.importESModule(
  "resource:///modules/MailServices.sys.mjs"
);

/** The CardDAV directory (the JS object, with its sync methods) of `uid`. */
function directory(uid) {
  const book = MailServices.ab.getDirectoryFromUID(uid);
  if (!book) {
    throw new Error(`no address book ${uid}`);
  }
  return CardDAVDirectory.forFile(book.fileName);
}

/** Resolves at the next `topic` notification about the directory `uid`. */
function notified(topic, uid) {
  return new Promise(resolve => {
    const observer = (subject, _topic, data) => {
      const about =
        data || subject.QueryInterface(Ci.nsIAbDirectory).UID;
      if (about == uid) {
        Services.obs.removeObserver(observer, topic);
        resolve();
      }
    };
    Services.obs.addObserver(observer, topic);
  });
}

/** What the user sees of a card: name, email, phone, organization, nickname. */
function shown(card) {
  const props = card.vCardProperties;
  const text = value =>
    Array.isArray(value) ? value.filter(Boolean).join(" ") : value || "";
  return {
    name: card.displayName,
    email: card.primaryEmail,
    phones: props.getAllValues("tel").map(text),
    organization: text(props.getFirstValue("org")),
    nickname: text(props.getFirstValue("nickname")),
  };
}

function cardNamed(dir, name) {
  const card = dir.childCards.find(c => c.displayName == name);
  if (!card) {
    throw new Error(`no card ${name} in ${dir.dirName}`);
  }
  return card;
}

const ops = {
  /**
   * The setup dialog: discovers the books at `url`, creates each one found (which starts its
   * first sync, fetchAllFromServer) and waits for that sync, one book after the other.
   */
  async setup(user, password, url) {
    const found = await CardDAVUtils.detectAddressBooks(
      user,
      password,
      url,
      false
    );
    const books = [];
    for (const book of found) {
      const started = Date.now();
      const dir = book.create();
      // No timer syncs behind the test's back.
      dir.setIntValue("carddav.syncinterval", 0);
      await notified("addrbook-directory-synced", dir.UID);
      books.push({
        name: book.name,
        url: book.url.href,
        uid: dir.UID,
        readOnly: dir.readOnly,
        token: dir.getStringValue("carddav.token", ""),
        millis: Date.now() - started,
      });
    }
    return books;
  },

  /** A book set up by hand as the dialog would, then its first sync (which may fail). */
  async fetchByHand(user, password, url) {
    const origin = new URL(url).origin;
    const saved = await Services.logins.searchLoginsAsync({ origin });
    if (!saved.some(l => l.username == user)) {
      const login = Cc[
        "@mozilla.org/login-manager/loginInfo;1"
      ].createInstance(Ci.nsILoginInfo);
      login.init(origin, null, "cardbridge", user, password, "", "");
      await Services.logins.addLoginAsync(login);
    }
    const id = MailServices.ab.newAddressBook(
      `${user} by hand`,
      null,
      Ci.nsIAbManager.CARDDAV_DIRECTORY_TYPE
    );
    const book = MailServices.ab.getDirectoryFromId(id);
    book.setStringValue("carddav.url", url);
    book.setStringValue("carddav.username", user);
    book.setIntValue("carddav.syncinterval", 0);
    let error = null;
    try {
      await directory(book.UID).fetchAllFromServer();
    } catch (e) {
      error = String(e.message || e);
    }
    return { uid: book.UID, cards: book.childCards.length, error };
  },

  cards(uid) {
    return directory(uid).childCards.map(shown);
  },

  /**
   * The sync timer's job: syncWithServer (sync-collection with the stored token). Returns
   * the token held afterwards and the error the sync ended with, if any.
   */
  async sync(uid) {
    const dir = directory(uid);
    let error = null;
    try {
      await dir.syncWithServer(false);
    } catch (e) {
      error = String(e.message || e);
    }
    return { token: dir.getStringValue("carddav.token", ""), error };
  },

  /** Makes Thunderbird hold a token the server never issued (or has forgotten). */
  setToken(uid, token) {
    directory(uid).setStringValue("carddav.token", token);
  },

  /** Turns the book's read-only flag (set by discovery) off, as a pref edit would. */
  setReadOnly(uid, readOnly) {
    const dir = directory(uid);
    dir.setBoolValue("readOnly", readOnly);
    return dir.readOnly;
  },

  /** Edits the phone of the card `name` locally; waits for the upload (PUT) to be answered. */
  async editPhone(uid, name, phone) {
    const dir = directory(uid);
    const card = cardNamed(dir, name);
    card.vCardProperties.getFirstEntry("tel").value = phone;
    const answered = notified("addrbook-directory-request-end", uid);
    dir.modifyCard(card);
    await answered;
    return { href: card.getProperty("_href", ""), ...shown(cardNamed(dir, name)) };
  },

  /** Deletes the card `name` locally; waits for the DELETE to be answered. */
  async remove(uid, name) {
    const dir = directory(uid);
    const card = cardNamed(dir, name);
    const answered = notified("addrbook-directory-request-end", uid);
    dir.deleteCards([card]);
    await answered;
    return { href: card.getProperty("_href", ""), left: dir.childCards.length };
  },
};

const [op, ...args] = arguments;
const resolve = args.pop();
(async () => ops[op](...args))().then(
  value => resolve({ value: value ?? null }),
  e => resolve({ error: `${op}: ${e.message || e}\n${e.stack || ""}` })
);
