// SOQL through jsforce on a token session, following the pages the way applications do.
//
//   node query.mjs manual    '<soql>'   conn.query() then conn.queryMore(nextRecordsUrl) until done
//   node query.mjs autofetch '<soql>'   conn.query(soql).run({autoFetch: true, maxFetch})
//   node query.mjs queryall  '<soql>'   conn.queryAll() + queryMore (deleted rows included)
//
// Prints totalSize, the size of every page, the number of distinct Ids and the first Ids.
import { connectWithToken, run } from './_common.mjs';

const [mode, soql] = process.argv.slice(2);

function summarize(totalSize, pages, records, extra = {}) {
  const ids = records.map((r) => r.Id).filter(Boolean);
  return {
    totalSize,
    pages,
    fetched: records.length,
    distinctIds: new Set(ids).size,
    firstIds: ids.slice(0, 3),
    sample: records.slice(0, 3).map(({ attributes, ...rest }) => ({ attributes, ...rest })),
    ...extra,
  };
}

async function main() {
  const conn = connectWithToken();
  if (mode === 'manual' || mode === 'queryall') {
    let res = mode === 'manual' ? await conn.query(soql) : await conn.queryAll(soql);
    const totalSize = res.totalSize;
    const pages = [res.records.length];
    const records = [...res.records];
    const nextRecordsUrls = [];
    while (!res.done) {
      nextRecordsUrls.push(res.nextRecordsUrl);
      res = await conn.queryMore(res.nextRecordsUrl);
      pages.push(res.records.length);
      records.push(...res.records);
    }
    return summarize(totalSize, pages, records, { nextRecordsUrls });
  }
  if (mode === 'autofetch') {
    const records = [];
    const query = conn.query(soql).on('record', (r) => records.push(r));
    const res = await query.run({ autoFetch: true, maxFetch: 1000000 });
    return summarize(res.totalSize ?? query.totalSize, null, records);
  }
  throw new Error(`unknown mode ${mode}`);
}

run(main);
