// The SSRF rules for origin URLs: every notation of a private, loopback, link-local, CGNAT, multicast, unspecified
// or metadata address is refused, as are credentials and non-https schemes; ALLOW_PRIVATE_ORIGINS lifts the
// address rule and accepts http.
import { describe, expect, it } from "vitest";
import { isPrivateHost, originProblem } from "#app/schemas/public-origin.ts";

const strict = { allowPrivate: false };
const relaxed = { allowPrivate: true };

describe("originProblem", () => {
  it.each([
    "https://cdn.contentful.com",
    "https://api.storyblok.com/v2/cdn",
    "https://api.cloudinary.com/v1_1/demo",
    "https://assets.example.com:8443/media",
    "https://93.184.216.34/",
    "https://[2606:4700:4700::1111]/",
    "https://xn--bcher-kva.example/",
  ])("accepts the public origin %s", (url) => {
    expect(originProblem(url, strict)).toBeUndefined();
  });

  it.each([
    // loopback in every IPv4 notation the URL parser knows
    "https://127.0.0.1/",
    "https://127.1/",
    "https://127.0.1/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0x7f.0.0.1/",
    "https://0177.0.0.1/",
    "https://017700000001/",
    "https://127.000.000.001/",
    // unspecified, private, link-local and metadata, CGNAT, benchmark, documentation, multicast, reserved
    "https://0.0.0.0/",
    "https://0/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/",
    "https://100.127.255.254/",
    "https://198.18.0.1/",
    "https://192.0.2.1/",
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    // IPv6: loopback, unspecified, IPv4-mapped and -compatible, NAT64, 6to4, unique local, link-local, multicast
    "https://[::1]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[::ffff:0:7f00:1]/",
    "https://[::127.0.0.1]/",
    "https://[64:ff9b::10.0.0.1]/",
    "https://[2002:c0a8:0101::1]/",
    "https://[fd00:ec2::254]/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
    "https://[2001:db8::1]/",
    // names
    "https://localhost/",
    "https://LOCALHOST./",
    "https://api.localhost/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://metadata/",
    "https://instance-data/",
    "https://printer.local/",
    "https://service.internal/",
    "https://intranet/",
  ])("refuses %s", (url) => {
    expect(originProblem(url, strict)).toBe("must point at a public host");
  });

  it("refuses plain http, other schemes, credentials, queries and non-URLs", () => {
    expect(originProblem("http://cdn.example.com", strict)).toBe("must be an https URL");
    expect(originProblem("ftp://cdn.example.com", strict)).toBe("must be an https URL");
    expect(originProblem("file:///etc/passwd", strict)).toBe("must be an https URL");
    expect(originProblem("https://user:secret@cdn.example.com", strict)).toBe("must not contain credentials");
    expect(originProblem("https://user@cdn.example.com", strict)).toBe("must not contain credentials");
    expect(originProblem("https://cdn.example.com/?a=1", strict)).toBe("must not contain a query or fragment");
    expect(originProblem("cdn.example.com", strict)).toBe("must be an absolute URL");
  });

  it("with ALLOW_PRIVATE_ORIGINS accepts private hosts and http, but never credentials", () => {
    expect(originProblem("http://127.0.0.1:8080/api", relaxed)).toBeUndefined();
    expect(originProblem("https://[::1]/", relaxed)).toBeUndefined();
    expect(originProblem("http://localhost:4000", relaxed)).toBeUndefined();
    expect(originProblem("ftp://127.0.0.1/", relaxed)).toBe("must be an http or https URL");
    expect(originProblem("http://u:p@127.0.0.1/", relaxed)).toBe("must not contain credentials");
  });
});

describe("isPrivateHost", () => {
  it("tells public from private addresses at the edges of each range", () => {
    expect(isPrivateHost("100.63.255.255")).toBe(false);
    expect(isPrivateHost("100.128.0.0")).toBe(false);
    expect(isPrivateHost("172.15.255.255")).toBe(false);
    expect(isPrivateHost("172.32.0.0")).toBe(false);
    expect(isPrivateHost("169.253.255.255")).toBe(false);
    expect(isPrivateHost("11.0.0.0")).toBe(false);
    expect(isPrivateHost("[2606:4700::1]")).toBe(false);
    expect(isPrivateHost("[::ffff:8.8.8.8]")).toBe(false);
    expect(isPrivateHost("cdn.example.com")).toBe(false);
  });
});
