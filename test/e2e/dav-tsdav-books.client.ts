// tsdav (npm) as the contacts app of a sharee: lists its address books (own and shared with it),
// the cards of each, and tries to add a card to each shared one. Run by dav-share-books.test.ts
// with NODE_EXTRA_CA_CERTS set to the server's CA. Usage: node dav-tsdav-books.client.ts URL USER PASSWORD UID;
// prints one JSON line.
import { createDAVClient } from 'tsdav';

const [url, username, password, uid] = process.argv.slice(2) as [string, string, string, string];
const client = await createDAVClient({
  serverUrl: url,
  credentials: { username, password },
  authMethod: 'Basic',
  defaultAccountType: 'carddav',
});
const out: { books: Record<string, string[]>; put: Record<string, number> } = { books: {}, put: {} };
for (const book of await client.fetchAddressBooks()) {
  const p = new URL(book.url).pathname;
  out.books[p] = (await client.fetchVCards({ addressBook: book })).map((v) => /FN:([^\r\n]*)/.exec(v.data ?? '')?.[1] ?? '').sort();
  if (p.includes('/shared-'))
    out.put[p] = (
      await client.createVCard({
        addressBook: book,
        filename: `${uid}.vcf`,
        vCardString: `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${uid}\r\nEMAIL:${uid}@example.org\r\nEND:VCARD\r\n`,
      })
    ).status;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
