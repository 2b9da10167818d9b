// Bulk API 2.0 through jsforce on a token session (EMU_INSTANCE_URL + EMU_ACCESS_TOKEN).
//
//   node bulk2.mjs load  <Object> <operation> <file.csv> [ExternalIdField]
//        conn.bulk2.loadAndWaitForResults(…): create job, PUT the CSV, UploadComplete, poll, results
//   node bulk2.mjs job   <Object> <operation> <file.csv> [ExternalIdField]
//        the same steps one by one through conn.bulk2.createJob(), also reporting the final job info
//   node bulk2.mjs query '<soql>' [queryAll]
//        conn.bulk2.query(…): create query job, poll, read every results page (Sforce-Locator)
//
// jsforce's own polling (every 1 s, 30 s timeout) is used unless EMU_BULK_POLL_TIMEOUT (ms) is set.
import { readFileSync } from 'node:fs';
import { connectWithToken, run } from './_common.mjs';

const [op, ...args] = process.argv.slice(2);

function pollOptions() {
  const timeout = process.env.EMU_BULK_POLL_TIMEOUT;
  return timeout ? { pollTimeout: Number(timeout) } : {};
}

function summarizeIngest(results) {
  const { successfulResults, failedResults, unprocessedRecords } = results;
  return {
    successful: successfulResults.length,
    failed: failedResults.length,
    unprocessed: unprocessedRecords.length,
    created: successfulResults.filter((r) => String(r.sf__Created) === 'true').length,
    successfulIds: successfulResults.map((r) => r.sf__Id),
    successfulSample: successfulResults.slice(0, 2),
    failedSample: failedResults.slice(0, 5),
  };
}

function jobOptions() {
  const [object, operation, file, externalIdFieldName] = args;
  const options = { object, operation, input: readFileSync(file, 'utf8'), ...pollOptions() };
  if (externalIdFieldName) options.externalIdFieldName = externalIdFieldName;
  return options;
}

async function main() {
  const conn = connectWithToken();
  if (op === 'load') {
    const results = await conn.bulk2.loadAndWaitForResults(jobOptions());
    return summarizeIngest(results);
  }
  if (op === 'job') {
    const { input, pollTimeout, ...createOptions } = jobOptions();
    const job = conn.bulk2.createJob(createOptions);
    const opened = await job.open();
    await job.uploadData(input);
    await job.close();
    await job.poll(conn.bulk2.pollInterval, pollTimeout ?? conn.bulk2.pollTimeout);
    const results = await job.getAllResults();
    const info = job.getInfo();
    return {
      openedState: opened.state,
      jobId: job.id,
      state: info.state,
      numberRecordsProcessed: info.numberRecordsProcessed,
      numberRecordsFailed: info.numberRecordsFailed,
      ...summarizeIngest(results),
    };
  }
  if (op === 'query') {
    const [soql, scanAll] = args;
    const stream = await conn.bulk2.query(soql, { scanAll: scanAll === 'queryAll', ...pollOptions() });
    const records = [];
    await new Promise((resolve, reject) => {
      stream.on('record', (record) => records.push(record));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    return {
      count: records.length,
      columns: records.length ? Object.keys(records[0]) : [],
      ids: records.map((r) => r.Id).filter(Boolean),
      sample: records.slice(0, 3),
    };
  }
  throw new Error(`unknown operation ${op}`);
}

run(main);
