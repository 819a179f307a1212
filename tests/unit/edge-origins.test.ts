// Where the edge fetches a tenant's assets from, which responses allowedTypes admit, and the rewriting of provider
// asset URLs in API responses.
import { describe, expect, it } from "vitest";
import { assetOrigin, rewritePrefixes, rewriteUrls, typeAllowed, type EdgeTenant } from "#edge/origins.ts";

const t = (fields: Partial<EdgeTenant>) => fields as EdgeTenant;
const origin = (tenant: EdgeTenant, path: string, query = "") => {
  const o = assetOrigin(tenant, path, new URLSearchParams(query));
  return o && { url: o.url, query: o.query.toString() };
};

describe("assetOrigin", () => {
  it("maps each provider's public paths to its CDN", () => {
    expect(origin(t({ cms: "contentful", spaceId: "sp1" }), "/a/b/pic.jpg", "w=10")).toEqual({
      url: "https://images.ctfassets.net/sp1/a/b/pic.jpg",
      query: "w=10",
    });
    expect(origin(t({ cms: "contentful", spaceId: "sp1" }), "/a/b/clip.mp4")?.url).toBe("https://videos.ctfassets.net/sp1/a/b/clip.mp4");
    expect(origin(t({ cms: "sanity", projectId: "p1", dataset: "staging" }), "/x.png")?.url).toBe("https://cdn.sanity.io/images/p1/staging/x.png");
    expect(origin(t({ cms: "sanity", projectId: "p1" }), "/doc.pdf")?.url).toBe("https://cdn.sanity.io/files/p1/production/doc.pdf");
    expect(origin(t({ cms: "prismic", repositoryName: "repo" }), "/img.webp", "w=5&utm=x&q=80")).toEqual({
      url: "https://images.prismic.io/repo/img.webp",
      query: "w=5&q=80",
    });
    expect(origin(t({ cms: "prismic", repositoryName: "repo" }), "/doc.pdf")?.url).toBe("https://repo.cdn.prismic.io/doc.pdf");
    expect(origin(t({ cms: "storyblok", region: "us" }), "/f/1/a.png")?.url).toBe("https://a-us.storyblok.com/f/1/a.png");
    expect(origin(t({ cms: "storyblok" }), "/other.png")).toBeNull();
    expect(origin(t({ cms: "shopify", storeDomain: "shop.example.com" }), "/cdn/shop/files/a.jpg")?.url).toBe(
      "https://shop.example.com/cdn/shop/files/a.jpg",
    );
    expect(origin(t({ cms: "shopify", storeDomain: "shop.example.com" }), "/admin")).toBeNull();
    expect(origin(t({ cms: "cloudinary", cloudName: "cl" }), "/image/upload/v1/a.jpg")?.url).toBe("https://res.cloudinary.com/cl/image/upload/v1/a.jpg");
    expect(origin(t({ cms: "cloudinary", cloudName: "cl" }), "/a.jpg")).toBeNull();
    expect(origin(t({ cms: "imgix", imgixDomain: "x.imgix.net" }), "/a.jpg")?.url).toBe("https://x.imgix.net/a.jpg");
    const generic = t({ cms: "generic", originUrl: "https://media.example.com/base/", videoOrigin: "https://video.example.com" });
    expect(origin(generic, "/a.jpg")?.url).toBe("https://media.example.com/base/a.jpg");
    expect(origin(generic, "/v.webm")?.url).toBe("https://video.example.com/v.webm");
    expect(origin(t({ cms: "generic" }), "/a.jpg")).toBeNull();
  });
});

describe("typeAllowed", () => {
  it("admits the MIME types of the listed extensions and judges untyped bodies by the path", () => {
    expect(typeAllowed(["png"], "image/png", "/a.png")).toBe(true);
    expect(typeAllowed(["png"], "image/jpeg; charset=binary", "/a.png")).toBe(false);
    expect(typeAllowed(["jpg"], "IMAGE/JPEG", "/a")).toBe(true);
    expect(typeAllowed(["pdf"], "application/octet-stream", "/doc.pdf")).toBe(true);
    expect(typeAllowed(["pdf"], undefined, "/doc.exe")).toBe(false);
    expect(typeAllowed(null, "text/html", "/page.html")).toBe(false);
    expect(typeAllowed([], "image/png", "/a.png")).toBe(true);
  });

  it("admits listed extensions beyond the images and video, and an extension it has no types for by the path, never as a page or script", () => {
    const docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    expect(typeAllowed(["docx"], docx, "/report.docx")).toBe(true);
    expect(typeAllowed(["docx"], docx, "/report")).toBe(true);
    expect(typeAllowed(["ogg"], "audio/ogg", "/a.ogg")).toBe(true);
    expect(typeAllowed(["ttf", "woff2"], "font/ttf", "/f.ttf")).toBe(true);
    // Known extensions keep to their types: a listed docx does not admit a PDF body.
    expect(typeAllowed(["docx"], "application/pdf", "/report.docx")).toBe(false);
    // An extension with no known types: judged by the path, not as HTML, SVG, script or XML.
    expect(typeAllowed(["glb"], "model/gltf-binary", "/scene.glb")).toBe(true);
    expect(typeAllowed(["glb"], "model/gltf-binary", "/scene.png")).toBe(false);
    expect(typeAllowed(["glb"], "model/gltf-binary", "/scene")).toBe(false);
    for (const active of ["text/html; charset=utf-8", "image/svg+xml", "application/javascript", "text/xml"]) {
      expect(typeAllowed(["glb"], active, "/scene.glb"), active).toBe(false);
    }
    // The default list is unchanged by any of this.
    expect(typeAllowed(null, docx, "/report.docx")).toBe(false);
    expect(typeAllowed(null, "model/gltf-binary", "/scene.glb")).toBe(false);
  });
});

describe("rewriteUrls", () => {
  it("rewrites absolute, http and protocol-relative provider URLs to the edge, and nothing else", () => {
    const prefixes = rewritePrefixes(t({ cms: "contentful", spaceId: "sp1" }), "https://acme.edge.example/");
    const json = JSON.stringify({
      a: "https://images.ctfassets.net/sp1/x/y.png",
      b: "//images.ctfassets.net/sp1/z.jpg",
      c: "http://videos.ctfassets.net/sp1/v.mp4",
      d: "https://images.ctfassets.net/other/keep.png",
    });
    expect(JSON.parse(rewriteUrls(json, prefixes))).toEqual({
      a: "https://acme.edge.example/x/y.png",
      b: "https://acme.edge.example/z.jpg",
      c: "https://acme.edge.example/v.mp4",
      d: "https://images.ctfassets.net/other/keep.png",
    });
  });

  it("uses the generic tenant's own origins as prefixes", () => {
    const prefixes = rewritePrefixes(t({ cms: "generic", originUrl: "https://media.example.com/base/" }), "http://g.localhost:8787");
    expect(rewriteUrls('"https://media.example.com/base/p.png"', prefixes)).toBe('"http://g.localhost:8787/p.png"');
  });

  it("rewrites a prefix only where it ends: not another account, space or host that merely starts the same", () => {
    const cloudinary = rewritePrefixes(t({ cms: "cloudinary", cloudName: "acme" }), "https://e.example");
    const json = JSON.stringify({
      a: "https://res.cloudinary.com/acme/image/upload/a.png",
      b: "https://res.cloudinary.com/acme-staging/image/upload/b.png",
      c: "https://res.cloudinary.com/acme?x=1",
      d: "https://res.cloudinary.com/acme",
    });
    expect(JSON.parse(rewriteUrls(json, cloudinary))).toEqual({
      a: "https://e.example/image/upload/a.png",
      b: "https://res.cloudinary.com/acme-staging/image/upload/b.png",
      c: "https://e.example?x=1",
      d: "https://e.example",
    });
    const imgix = rewritePrefixes(t({ cms: "imgix", imgixDomain: "acme.imgix.net" }), "https://e.example");
    expect(rewriteUrls("see https://acme.imgix.net/p.jpg and https://acme.imgix.net.evil.example/p.jpg", imgix)).toBe(
      "see https://e.example/p.jpg and https://acme.imgix.net.evil.example/p.jpg",
    );
  });
});
