// A real DNS server (UDP) answering A, AAAA, CNAME and TXT questions from a zone its owner controls: for the app's tests
// (tests/fixtures/dns-server.ts) and the browser tests (tests/e2e/support/dns-control.ts).
import dns2 from "dns2";

const { Packet } = dns2;

export interface ZoneEntry {
  /** IPv4 addresses (the edge's origin look-ups). */
  A?: string[];
  /** IPv6 addresses (the edge's origin look-ups). */
  AAAA?: string[];
  CNAME?: string[];
  /** Each record as its character strings (a long value comes in chunks of at most 255 bytes). */
  TXT?: string[][];
  /** Answer every question about the name with this response code instead of records. */
  rcode?: "SERVFAIL" | "REFUSED";
  /** Never answer questions about the name: a server that has gone quiet, seen from the resolver. */
  silent?: boolean;
}

const TYPE_NAMES: Record<number, string> = { [Packet.TYPE.A]: "A", [Packet.TYPE.AAAA]: "AAAA", [Packet.TYPE.CNAME]: "CNAME", [Packet.TYPE.TXT]: "TXT" };
/** Response codes (RFC 1035 §4.1.1); dns2 has them at run time but its type declarations do not. */
const RCODE = { NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 } as const;

/** A record answering `question`. TTL 0: nothing may be cached from one check to the next, as tests change the zone. */
function answer(question: Parameters<typeof Packet.createResourceFromQuestion>[0], rdata: { domain?: string; data?: string[]; address?: string }) {
  return Packet.createResourceFromQuestion(question, { type: question.type, class: Packet.CLASS.IN, ttl: 0, ...rdata });
}

export interface DnsZoneServer {
  /**
   * Names (lowercase, no trailing dot) and their records. A name not in the zone is NXDOMAIN; a name in it without
   * records of the asked type is NODATA (NOERROR, no answers).
   */
  zone: Map<string, ZoneEntry>;
  /** Every question the server received, as "TYPE name". */
  questions: string[];
  /** "127.0.0.1:<port>", as the app's DNS_SERVERS names it. */
  address: string;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (port 0: any free one). */
export async function startDnsZoneServer(port = 0): Promise<DnsZoneServer> {
  const zone = new Map<string, ZoneEntry>();
  const questions: string[] = [];
  const server = dns2.createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const name = question.name.toLowerCase().replace(/\.$/, "");
    const type = TYPE_NAMES[question.type] ?? String(question.type);
    questions.push(`${type} ${name}`);
    const entry = zone.get(name);
    if (entry?.silent) return;
    if (!entry) response.header.rcode = RCODE.NXDOMAIN;
    else if (entry.rcode) response.header.rcode = RCODE[entry.rcode];
    else if (type === "A") for (const address of entry.A ?? []) response.answers.push(answer(question, { address }));
    else if (type === "AAAA") for (const address of entry.AAAA ?? []) response.answers.push(answer(question, { address }));
    else if (type === "CNAME") for (const domain of entry.CNAME ?? []) response.answers.push(answer(question, { domain }));
    else if (type === "TXT") for (const data of entry.TXT ?? []) response.answers.push(answer(question, { data }));
    void send(response);
  });
  await server.listen(port, "127.0.0.1");
  // A test run ends with its process; an open socket must not keep it alive.
  server.unref();
  return {
    zone,
    questions,
    address: `127.0.0.1:${server.address().port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
