// `npm run db -- --port <p> --dbpath <dir> | --inMemory`: runs the store in the foreground until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { DataDirectoryLockedError, start } from "./index";

const usage = "usage: npm run db -- [--port <port>] [--host <address>] (--dbpath <dir> | --inMemory)";

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string", default: "27017" },
        host: { type: "string", default: "127.0.0.1" },
        bind_ip: { type: "string" },
        dbpath: { type: "string" },
        inMemory: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0..65535\n${usage}`);
    process.exit(2);
  }
  if (!values.dbpath && !values.inMemory) {
    console.error(`choose --dbpath <dir> or --inMemory\n${usage}`);
    process.exit(2);
  }
  // Signals are handled from the start: one that arrives while the store is opening stops it once it is open.
  let store: Awaited<ReturnType<typeof start>> | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    requested = signal;
    if (!store || stopping) return;
    stopping = true;
    store
      .stop()
      .then(() => {
        console.log(`embedded-mongo stopped (${signal}), data flushed`);
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error(`embedded-mongo: stop failed: ${(err as Error).message}`);
        process.exit(1);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    store = await start({ port, host: values.bind_ip ?? values.host, dbPath: values.inMemory ? undefined : values.dbpath });
  } catch (err) {
    console.error(`embedded-mongo: ${err instanceof DataDirectoryLockedError ? err.message : (err as Error).stack}`);
    process.exit(1);
  }
  console.log(`embedded-mongo ready on ${store.uri} (${values.inMemory ? "in memory" : `dbpath ${values.dbpath}`})`);
  if (requested) stop(requested);
}

void main();
