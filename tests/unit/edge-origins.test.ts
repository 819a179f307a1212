// Where the edge fetches a tenant's assets from, which responses allowedTypes admit, and the rewriting of provider
// asset URLs in API responses.
import { describe, expect, it } from "vitest";
import { spelledQuery } from "#edge/handler.ts";
import { assetOrigin, rewritePrefixes, rewriteUrls, typeAllowed, type EdgeTenant } from "#edge/origins.ts";

const t = (fields: Partial<EdgeTenant>) => fields as EdgeTenant;
const origin = (tenant: EdgeTenant, path: string, query = "") => {
  const o = assetOrigin(tenant, path, new URLSearchParams(query));
  return o && { url: o.url, query: o.query.toString() };
};

describe("spelledQuery: the query an origin is sent", () => {
  it("keeps the client's order, escapes and bare flags, without the parameters the provider does not take", () => {
    const prismic = t({ cms: "prismic", repositoryName: "repo" });
    const sent = (search: string) => spelledQuery(search, (assetOrigin(prismic, "/img.webp", new URLSearchParams(search)) as { query: URLSearchParams }).query);
    expect(sent("w=5&utm_source=x&q=80&fm=webp%20")).toBe("w=5&q=80&fm=webp%20");
    expect(sent("utm+source=1&w=5&&q=80&rect")).toBe("w=5&q=80&rect");
    expect(sent("w=5&q=80&w=6")).toBe("w=5&q=80&w=6");
    expect(sent("utm=x")).toBe("");
    const generic = t({ cms: "generic", originUrl: "https://o.example" });
    const all = "z=1&a=%20x+y&flag&%E2%9C%93=ok&bad=%ZZ";
    expect(spelledQuery(all, (assetOrigin(generic, "/a.png", new URLSearchParams(all)) as { query: URLSearchParams }).query)).toBe(all);
  });
});

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

  it("sends every video extension to the provider's video host, and each Storyblok region and Cloudinary type to its own", () => {
    for (const ext of ["mp4", "webm", "mov", "m4v"]) {
      expect(origin(t({ cms: "contentful", spaceId: "sp1" }), `/a/clip.${ext}`)?.url, ext).toBe(`https://videos.ctfassets.net/sp1/a/clip.${ext}`);
      expect(origin(t({ cms: "sanity", projectId: "p1" }), `/clip.${ext}`)?.url, ext).toBe(`https://cdn.sanity.io/files/p1/production/clip.${ext}`);
    }
    const storyblok = (region?: string) => origin(t({ cms: "storyblok", region }), "/f/1/a.png")?.url;
    expect([storyblok(), storyblok("eu"), storyblok("us"), storyblok("ap"), storyblok("ca"), storyblok("cn")]).toEqual([
      "https://a.storyblok.com/f/1/a.png",
      "https://a.storyblok.com/f/1/a.png",
      "https://a-us.storyblok.com/f/1/a.png",
      "https://a-ap.storyblok.com/f/1/a.png",
      "https://a-ca.storyblok.com/f/1/a.png",
      "https://a.storyblokchina.cn/f/1/a.png",
    ]);
    const cloudinary = t({ cms: "cloudinary", cloudName: "cl" });
    expect(origin(cloudinary, "/video/upload/v1/clip.mp4")?.url).toBe("https://res.cloudinary.com/cl/video/upload/v1/clip.mp4");
    // Only the image and video upload paths PRODUCT.md lists: raw files, fetch and other delivery types are not served.
    for (const path of ["/raw/upload/v1/a.zip", "/image/fetch/https://x.example/a.jpg", "/image/private/a.jpg"]) expect(origin(cloudinary, path), path).toBeNull();
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

  it("admits the unregistered names origins commonly label a listed type with, and nothing more", () => {
    // S3 and many upload pipelines store JPEGs as image/jpg; old uploads carry image/pjpeg and image/x-png.
    for (const type of ["image/jpg", "image/pjpeg", "IMAGE/JPG; charset=binary"]) {
      expect(typeAllowed(null, type, "/photo.jpg"), type).toBe(true);
      expect(typeAllowed(["jpeg"], type, "/photo"), type).toBe(true);
      expect(typeAllowed(["png"], type, "/photo.png"), type).toBe(false);
    }
    expect(typeAllowed(["png"], "image/x-png", "/a.png")).toBe(true);
    expect(typeAllowed(["mp3"], "audio/mp3", "/a.mp3")).toBe(true);
    expect(typeAllowed(["wav"], "audio/wave", "/a.wav")).toBe(true);
    expect(typeAllowed(["zip"], "application/x-zip-compressed", "/a.zip")).toBe(true);
    expect(typeAllowed(["gz"], "application/x-gzip", "/a.gz")).toBe(true);
    expect(typeAllowed(["bmp"], "image/x-ms-bmp", "/a.bmp")).toBe(true);
    expect(typeAllowed(["jpg"], "image/x-png", "/a.jpg")).toBe(false);
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
    for (const active of [
      "text/html; charset=utf-8",
      "TEXT/HTML",
      "image/svg+xml",
      "application/javascript",
      "application/x-javascript",
      "text/ecmascript",
      "text/xml",
      "application/rss+xml",
      "application/vnd.wap.xhtml+xml",
      "text/xsl",
      "multipart/x-mixed-replace; boundary=x",
    ]) {
      expect(typeAllowed(["glb"], active, "/scene.glb"), active).toBe(false);
    }
    // A header naming several types (or several headers, joined) is refused: a browser would take the last.
    expect(typeAllowed(["glb"], "model/gltf-binary, text/html", "/scene.glb")).toBe(false);
    expect(typeAllowed(["png"], "image/png, text/html", "/a.png")).toBe(false);
    expect(typeAllowed(null, ";, text/html", "/a.png")).toBe(false);
    expect(typeAllowed(null, 'video/mp4; codecs="a", text/html', "/a.mp4")).toBe(false);
    expect(typeAllowed(null, 'video/mp4; codecs="a\\", text/html', "/a.mp4")).toBe(false);
    expect(typeAllowed(null, 'video/mp4; codecs="a', "/a.mp4")).toBe(false);
    // A comma inside a quoted parameter (the codecs of a video) is one type.
    expect(typeAllowed(null, 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"', "/a.mp4")).toBe(true);
    expect(typeAllowed(null, 'video/mp4; codecs="a\\"b, c"', "/a.mp4")).toBe(true);
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

  it("rewrites only the paths the edge serves for each provider, to where the edge serves them", () => {
    const e = "https://e.example";
    const rewrite = (tenant: EdgeTenant, urls: string[]) => JSON.parse(rewriteUrls(JSON.stringify(urls), rewritePrefixes(tenant, e))) as string[];
    expect(rewrite(t({ cms: "shopify", storeDomain: "shop.example.com" }), [
      "https://shop.example.com/cdn/shop/files/hat.jpg?v=3",
      "https://shop.example.com/products/hat",
      "https://shop.example.com/cdn/shop/t/5/assets/theme.css",
    ])).toEqual([`${e}/cdn/shop/files/hat.jpg?v=3`, "https://shop.example.com/products/hat", "https://shop.example.com/cdn/shop/t/5/assets/theme.css"]);
    expect(rewrite(t({ cms: "prismic", repositoryName: "repo" }), [
      "https://images.prismic.io/repo/abc_hero.png?auto=format",
      "https://repo.cdn.prismic.io/repo/def_brochure.pdf",
      "//repo.cdn.prismic.io/repo/ghi_sheet.xlsx?dl=1",
      "https://repo.cdn.prismic.io/api/v2/documents/search?page=2",
      // An image on the files host: the edge serves images from images.prismic.io, so it is left alone.
      "https://repo.cdn.prismic.io/repo/logo.png",
      "http://repo.cdn.prismic.io/repo/LOGO.JPG?x=1",
      "https://repo.cdn.prismic.io/repo/logo.png.pdf",
      // Not an image on the images host: the edge would fetch it from the files host, so it is left alone.
      "https://images.prismic.io/repo/notes.pdf",
      "//images.prismic.io/repo/abc_hero?w=5",
      "https://images.prismic.io/repo/HERO.PNG",
    ])).toEqual([
      `${e}/abc_hero.png?auto=format`,
      `${e}/repo/def_brochure.pdf`,
      `${e}/repo/ghi_sheet.xlsx?dl=1`,
      "https://repo.cdn.prismic.io/api/v2/documents/search?page=2",
      "https://repo.cdn.prismic.io/repo/logo.png",
      "http://repo.cdn.prismic.io/repo/LOGO.JPG?x=1",
      `${e}/repo/logo.png.pdf`,
      "https://images.prismic.io/repo/notes.pdf",
      "//images.prismic.io/repo/abc_hero?w=5",
      `${e}/HERO.PNG`,
    ]);
    expect(rewrite(t({ cms: "storyblok", region: "us" }), ["https://a-us.storyblok.com/f/1/a.png", "https://a-us.storyblok.com/other"])).toEqual([
      `${e}/f/1/a.png`,
      "https://a-us.storyblok.com/other",
    ]);
    expect(rewrite(t({ cms: "sanity", projectId: "p1" }), ["https://cdn.sanity.io/images/p1/production/a.png", "https://cdn.sanity.io/files/p1/production/b.pdf"])).toEqual([
      `${e}/a.png`,
      `${e}/b.pdf`,
    ]);
    expect(rewrite(t({ cms: "cloudinary", cloudName: "cl" }), [
      "https://res.cloudinary.com/cl/video/upload/v1/clip.mp4",
      "https://res.cloudinary.com/cl/raw/upload/v1/a.zip",
      "https://res.cloudinary.com/cl/image/fetch/https://x.example/a.jpg",
    ])).toEqual([`${e}/video/upload/v1/clip.mp4`, "https://res.cloudinary.com/cl/raw/upload/v1/a.zip", "https://res.cloudinary.com/cl/image/fetch/https://x.example/a.jpg"]);
    // And each rewritten URL is one the edge serves from the URL it replaced (in every spelling).
    const roundTrip = (tenant: EdgeTenant, url: string) => {
      const [rewritten] = rewrite(tenant, [url]);
      const edgeUrl = new URL(rewritten);
      const back = origin(tenant, edgeUrl.pathname, edgeUrl.search.slice(1));
      return back && `${back.url}${back.query ? `?${back.query}` : ""}`;
    };
    const storyblok = t({ cms: "storyblok", region: "us" });
    for (const spelling of ["https:", "http:", ""]) {
      expect(roundTrip(storyblok, `${spelling}//a-us.storyblok.com/f/1/a.png?x=1`)).toBe("https://a-us.storyblok.com/f/1/a.png?x=1");
      expect(roundTrip(t({ cms: "prismic", repositoryName: "repo" }), `${spelling}//images.prismic.io/repo/abc_hero.png?w=5`)).toBe(
        "https://images.prismic.io/repo/abc_hero.png?w=5",
      );
      expect(roundTrip(t({ cms: "prismic", repositoryName: "repo" }), `${spelling}//repo.cdn.prismic.io/repo/def.pdf`)).toBe("https://repo.cdn.prismic.io/repo/def.pdf");
      expect(roundTrip(t({ cms: "shopify", storeDomain: "shop.example.com" }), `${spelling}//shop.example.com/cdn/shop/files/hat.jpg?v=3`)).toBe(
        "https://shop.example.com/cdn/shop/files/hat.jpg?v=3",
      );
      expect(roundTrip(t({ cms: "cloudinary", cloudName: "cl" }), `${spelling}//res.cloudinary.com/cl/image/upload/w_5/a.jpg`)).toBe(
        "https://res.cloudinary.com/cl/image/upload/w_5/a.jpg",
      );
    }

    const shop = t({ cms: "shopify", storeDomain: "shop.example.com" });
    expect(origin(shop, "/cdn/shop/files/hat.jpg", "v=3")).toEqual({ url: "https://shop.example.com/cdn/shop/files/hat.jpg", query: "v=3" });
    expect(origin(t({ cms: "prismic", repositoryName: "repo" }), "/repo/def_brochure.pdf")?.url).toBe("https://repo.cdn.prismic.io/repo/def_brochure.pdf");
    expect(origin(t({ cms: "cloudinary", cloudName: "cl" }), "/video/upload/v1/clip.mp4")?.url).toBe("https://res.cloudinary.com/cl/video/upload/v1/clip.mp4");
  });

  it("rewrites a URL only from the origin the edge picks for its extension, so every rewritten URL fetches the same object", () => {
    const e = "https://acme.edge.example";
    const cases: Array<[EdgeTenant, string[], string[]]> = [
      [
        t({ cms: "sanity", projectId: "p1" }),
        [
          "https://cdn.sanity.io/files/p1/production/logo.PNG",
          "https://cdn.sanity.io/files/p1/production/guide.pdf?dl=1",
          "https://cdn.sanity.io/images/p1/production/photo-1x1.jpg?w=5",
          "https://cdn.sanity.io/images/p1/production/odd.bin",
        ],
        ["https://cdn.sanity.io/files/p1/production/logo.PNG", `${e}/guide.pdf?dl=1`, `${e}/photo-1x1.jpg?w=5`, "https://cdn.sanity.io/images/p1/production/odd.bin"],
      ],
      [
        t({ cms: "generic", originUrl: "https://cdn.example.com/media", videoOrigin: "https://stream.example.com/v" }),
        [
          "https://stream.example.com/v/poster.jpg",
          "https://stream.example.com/v/intro.mp4",
          "https://cdn.example.com/media/intro.webm",
          "https://cdn.example.com/media/a.png",
        ],
        ["https://stream.example.com/v/poster.jpg", `${e}/intro.mp4`, "https://cdn.example.com/media/intro.webm", `${e}/a.png`],
      ],
      [
        t({ cms: "generic", originUrl: "https://cdn.example.com/media" }),
        ["https://cdn.example.com/media/intro.mp4", "https://cdn.example.com/media/a.png"],
        [`${e}/intro.mp4`, `${e}/a.png`],
      ],
      [
        t({ cms: "contentful", spaceId: "sp1" }),
        [
          "https://images.ctfassets.net/sp1/a/b/clip.mp4",
          "https://videos.ctfassets.net/sp1/a/b/clip.mp4",
          "https://videos.ctfassets.net/sp1/a/b/still.png",
          "https://images.ctfassets.net/sp1/a/b/still.png",
        ],
        ["https://images.ctfassets.net/sp1/a/b/clip.mp4", `${e}/a/b/clip.mp4`, "https://videos.ctfassets.net/sp1/a/b/still.png", `${e}/a/b/still.png`],
      ],
    ];
    for (const [tenant, urls, expected] of cases) {
      expect(JSON.parse(rewriteUrls(JSON.stringify(urls), rewritePrefixes(tenant, e)))).toEqual(expected);
      // Each URL rewritten is fetched from where it was.
      for (const [i, url] of urls.entries()) {
        if (expected[i] === url) continue;
        const edgeUrl = new URL(expected[i]);
        const back = origin(tenant, edgeUrl.pathname, edgeUrl.search.slice(1));
        expect(back && `${back.url}${back.query ? `?${back.query}` : ""}`).toBe(url);
      }
    }
  });

  it("rewrites a prefix only where it ends: not another account, space or host that merely starts the same", () => {
    const cloudinary = rewritePrefixes(t({ cms: "cloudinary", cloudName: "acme" }), "https://e.example");
    const json = JSON.stringify({
      a: "https://res.cloudinary.com/acme/image/upload/a.png",
      b: "https://res.cloudinary.com/acme-staging/image/upload/b.png",
      c: "https://res.cloudinary.com/acme/image/upload?x=1",
      d: "https://res.cloudinary.com/acme/image/uploads/d.png",
    });
    expect(JSON.parse(rewriteUrls(json, cloudinary))).toEqual({
      a: "https://e.example/image/upload/a.png",
      b: "https://res.cloudinary.com/acme-staging/image/upload/b.png",
      c: "https://e.example/image/upload?x=1",
      d: "https://res.cloudinary.com/acme/image/uploads/d.png",
    });
    const imgix = rewritePrefixes(t({ cms: "imgix", imgixDomain: "acme.imgix.net" }), "https://e.example");
    expect(rewriteUrls("see https://acme.imgix.net/p.jpg and https://acme.imgix.net.evil.example/p.jpg", imgix)).toBe(
      "see https://e.example/p.jpg and https://acme.imgix.net.evil.example/p.jpg",
    );
  });
});
