// Drives tsdav (the CardDAV/CalDAV library for JavaScript) the way an app built on it syncs a
// book, for tests/client_tsdav.rs. Each run is one step of the app's life; the app's local copy
// (account, book, objects) lives in a JSON state file between steps, and every step prints a
// JSON report on stdout.
//
//   node driver.mjs discover URL USER PASSWORD
//       DAVClient.login() from the root URL (defaultAccountType carddav), fetchAddressBooks.
//   node driver.mjs first URL USER PASSWORD STATE BOOK
//       discovery, then fetchVCards of the book whose URL ends in BOOK/ into STATE.
//   node driver.mjs sync URL USER PASSWORD STATE detected|basic
//       smartCollectionSync of STATE's book: detected = the method tsdav picks from the book's
//       supported reports (webdav, sync-collection from the stored token, when it lists
//       sync-collection), basic = getctag, then a full ETag comparison when it changed.
//   node driver.mjs fetch URL USER PASSWORD BOOK_URL
//       fetchVCards of a book URL given directly (what a user pasting a URL gets).
//   node driver.mjs write URL USER PASSWORD STATE
//       the user edits the first card and deletes the second: the app applies both to its
//       local copy and sends updateVCard and deleteVCard; it sends createVCard of a new card
//       and keeps that one only if the server takes it. Reports what the server answered.
import { readFileSync, writeFileSync } from 'node:fs';
import { DAVClient, addressBookMultiGet, createDAVClient, fetchVCards } from 'tsdav';

const [command, serverUrl, username, password, ...rest] = process.argv.slice(2);
const credentials = { username, password };

/** A client that has done tsdav's discovery from the root URL. */
async function loggedIn() {
  const client = new DAVClient({
    serverUrl,
    credentials,
    authMethod: 'Basic',
    defaultAccountType: 'carddav',
  });
  await client.login();
  return client;
}

/** A client with the auth headers only: it reuses a stored account, sends no discovery. */
function resumed() {
  return createDAVClient({ serverUrl, credentials, authMethod: 'Basic' });
}

/** The parts of an account and a book worth keeping (no functions). */
function plainAccount(account) {
  const { serverUrl: s, accountType, rootUrl, principalUrl, homeUrl } = account;
  return { serverUrl: s, accountType, rootUrl, principalUrl, homeUrl };
}

function plainBook(book) {
  const { url, ctag, syncToken, displayName, reports } = book;
  return { url, ctag, syncToken, displayName, reports };
}

function plainObjects(objects) {
  return objects.map(({ url, etag, data }) => ({ url, etag, data }));
}

function load(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function save(path, state) {
  writeFileSync(path, JSON.stringify(state));
}

async function discover() {
  const client = await loggedIn();
  const books = await client.fetchAddressBooks();
  return { account: plainAccount(client.account), books: books.map(plainBook) };
}

async function first([statePath, bookName]) {
  const client = await loggedIn();
  const books = await client.fetchAddressBooks();
  const book = books.find((b) => b.url.endsWith(`/${bookName}/`));
  if (!book) throw new Error(`no book ${bookName} among ${books.map((b) => b.url)}`);
  const objects = await client.fetchVCards({ addressBook: book });
  const state = {
    account: plainAccount(client.account),
    book: plainBook(book),
    objects: plainObjects(objects),
  };
  save(statePath, state);
  return state;
}

async function sync([statePath, method]) {
  const state = load(statePath);
  const client = await resumed();
  // As tsdav's own syncCalendars builds its collection: the stored token, ctag and objects,
  // the multiget for webdav changes and a full fetch for basic (ctag) changes.
  const collection = {
    ...state.book,
    objects: state.objects,
    objectMultiGet: addressBookMultiGet,
    fetchObjects: ({ collection: c, ...params }) => fetchVCards({ ...params, addressBook: c }),
  };
  const synced = await client.smartCollectionSync({
    collection,
    method: method === 'detected' ? undefined : method,
    account: state.account,
  });
  const next = {
    account: state.account,
    book: { ...state.book, ctag: synced.ctag, syncToken: synced.syncToken },
    objects: plainObjects(synced.objects),
  };
  save(statePath, next);
  return next;
}

async function fetchBook([bookUrl]) {
  const client = await resumed();
  try {
    const objects = await client.fetchVCards({ addressBook: { url: bookUrl } });
    return { objects: plainObjects(objects) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

/** What the server answered a write: its status and the body it explained it with. */
async function outcome(response) {
  return { status: response.status, ok: response.ok, body: await response.text() };
}

async function write([statePath]) {
  const state = load(statePath);
  const client = await resumed();
  const [original, removed] = state.objects;
  const edited = {
    ...original,
    data: original.data.replace(/^FN:.*$/m, 'FN:Edited Locally'),
  };
  const objects = state.objects
    .filter((o) => o.url !== removed.url)
    .map((o) => (o.url === edited.url ? edited : o));
  save(statePath, { ...state, objects });
  const update = await outcome(await client.updateVCard({ vCard: edited }));
  const remove = await outcome(await client.deleteVCard({ vCard: removed }));
  const created = await client.createVCard({
    addressBook: state.book,
    filename: 'created-by-tsdav.vcf',
    vCardString:
      'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:created-by-tsdav\r\nFN:Created Locally\r\nN:Locally;Created;;;\r\nEND:VCARD\r\n',
  });
  // A new card enters the local copy once the server took it (the test asserts it did not).
  const create = await outcome(created);
  return { update, delete: remove, create, edited: edited.url, deleted: removed.url };
}

const commands = { discover, first, sync, fetch: fetchBook, write };
const run = commands[command];
if (!run) {
  process.stderr.write(`unknown command ${command}; one of ${Object.keys(commands)}\n`);
  process.exit(2);
}
const started = Date.now();
const report = await run(rest);
process.stdout.write(JSON.stringify({ ...report, millis: Date.now() - started }));
