// Whether a URL may be used as an origin the edge fetches from: https, no credentials, and a host that is a public
// name or a public address in any notation (the SSRF rules of the contract). Pure: shared by forms and server.

export interface OriginRules {
  /** ALLOW_PRIVATE_ORIGINS: local development and tests may use private hosts and http. */
  allowPrivate: boolean;
}

const BLOCKED_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.com",
]);
const BLOCKED_SUFFIXES = [".localhost", ".local", ".localdomain", ".internal", ".intranet", ".home.arpa", ".lan", ".corp"];

/** IPv4 ranges that are not public: [first octets as a 32-bit network, prefix length]. */
const PRIVATE_V4: Array<[string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

function v4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function isPrivateV4(n: number): boolean {
  return PRIVATE_V4.some(([net, bits]) => {
    const base = v4ToInt(net) as number;
    const size = 2 ** (32 - bits);
    return n >= base && n < base + size;
  });
}

/** 16 bytes of an IPv6 address (as the URL parser prints it, without brackets), or undefined. */
function v6Bytes(ip: string): number[] | undefined {
  let text = ip;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToInt(v4[1]);
    if (n === undefined) return undefined;
    tail = [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    text = `${text.slice(0, -v4[1].length)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const bytes = all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function isPrivateV6(b: number[]): boolean {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const embeddedV4 = (at: number) => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
  if (zeros(0, 16)) return true; // ::
  if (zeros(0, 15) && b[15] === 1) return true; // ::1
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return isPrivateV4(embeddedV4(12)); // ::ffff:a.b.c.d
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return isPrivateV4(embeddedV4(12)); // ::ffff:0:a.b.c.d (SIIT)
  if (zeros(0, 12)) return true; // ::a.b.c.d (deprecated IPv4-compatible)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return isPrivateV4(embeddedV4(12)); // 64:ff9b::/96 NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return isPrivateV4(embeddedV4(2)); // 2002::/16 6to4
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return true; // 2001:db8::/32 documentation
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return true; // 2001::/32 Teredo
  if (b[0] === 0x01 && zeros(1, 8)) return true; // 100::/64 discard
  if ((b[0] & 0xfe) === 0xfc) return true; // fc00::/7 unique local (incl. fd00:ec2::254 metadata)
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return true; // fec0::/10 site-local
  if (b[0] === 0xff) return true; // multicast
  return false;
}

/** Whether a host (as URL.hostname prints it) names a private, loopback, link-local or metadata endpoint. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const bytes = v6Bytes(host.slice(1, -1));
    return bytes === undefined || isPrivateV6(bytes);
  }
  const v4 = v4ToInt(host);
  if (v4 !== undefined) return isPrivateV4(v4);
  if (/^[\d.]+$/.test(host) || /^0x/i.test(host)) return true; // an address form the URL parser did not normalize
  if (BLOCKED_NAMES.has(host) || BLOCKED_SUFFIXES.some((s) => host.endsWith(s))) return true;
  return !host.includes("."); // a single label is not a public name
}

/**
 * Why `value` is not an acceptable origin URL, or undefined when it is. The WHATWG URL parser normalizes every
 * IPv4 notation (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1) and IPv6 form before the host is checked.
 */
export function originProblem(value: string, rules: OriginRules): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  const schemes = rules.allowPrivate ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) return rules.allowPrivate ? "must be an http or https URL" : "must be an https URL";
  if (url.username || url.password) return "must not contain credentials";
  if (url.search || url.hash) return "must not contain a query or fragment";
  if (!rules.allowPrivate && isPrivateHost(url.hostname)) return "must point at a public host";
  return undefined;
}
