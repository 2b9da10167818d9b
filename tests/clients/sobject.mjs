// One jsforce sObject call per run, on a token session (EMU_INSTANCE_URL + EMU_ACCESS_TOKEN).
//
//   node sobject.mjs create   <Type> '<json record>'
//   node sobject.mjs retrieve <Type> <id> [Field,Field…]
//   node sobject.mjs update   <Type> '<json record with Id>'
//   node sobject.mjs updateMany <Type> '<json array of records with Id>'   (sObject Collections)
//   node sobject.mjs destroy  <Type> <id>
//   node sobject.mjs upsert   <Type> <ExternalIdField> '<json record>'
//   node sobject.mjs createMany <Type> <count> <NamePrefix>   (sObject Collections, 200 a request)
//   node sobject.mjs describe <Type>
import { connectWithToken, run } from './_common.mjs';

const [op, type, ...args] = process.argv.slice(2);

async function main() {
  const conn = connectWithToken();
  const so = conn.sobject(type);
  switch (op) {
    case 'create':
      return so.create(JSON.parse(args[0]));
    case 'retrieve': {
      const options = args[1] ? { fields: args[1].split(',') } : {};
      return so.retrieve(args[0], options);
    }
    case 'update':
      return so.update(JSON.parse(args[0]));
    case 'updateMany':
      // jsforce sends a collections PATCH whose records carry the id as lower-case `id`
      return so.update(JSON.parse(args[0]), { allOrNone: false });
    case 'destroy':
      return so.destroy(args[0]);
    case 'upsert':
      return so.upsert(JSON.parse(args[1]), args[0]);
    case 'createMany': {
      const count = Number(args[0]);
      const prefix = args[1];
      const records = Array.from({ length: count }, (_, i) => ({
        Name: `${prefix}${String(i).padStart(5, '0')}`,
      }));
      const results = await so.create(records, { allowRecursive: true });
      const failed = results.filter((r) => !r.success);
      return {
        requested: count,
        results: results.length,
        succeeded: results.length - failed.length,
        failed: failed.slice(0, 5),
        firstId: results[0]?.id,
        lastId: results[results.length - 1]?.id,
      };
    }
    case 'describe': {
      const d = await so.describe();
      return {
        name: d.name,
        label: d.label,
        fieldCount: d.fields.length,
        fields: Object.fromEntries(
          d.fields.map((f) => [f.name, { type: f.type, externalId: f.externalId, length: f.length }]),
        ),
      };
    }
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

run(main);
