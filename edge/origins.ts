// Where a tenant's assets come from: the origin URL of a public path per CMS provider, which response types its
// allowedTypes admit, and the provider's asset URL prefixes that API responses may be rewritten from.
import type { TenantDoc } from "#models/tenant.ts";
import { DEFAULT_ALLOWED_TYPES } from "#app/schemas/tenant.ts";
import { escapeRegex } from "#app/utils/regex.ts";

export const VIDEO_EXTENSIONS = new Set(["mp4", "webm", "mov", "m4v"]);
const IMAGE_EXTENSIONS = new Set(["jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "bmp", "ico", "tif", "tiff", "heic"]);
/** Query parameters Prismic's image CDN understands; the rest are not forwarded (nor part of the cache key). */
const PRISMIC_IMAGE_PARAMS = new Set(["auto", "w", "h", "fm", "q", "fit", "rect"]);

const STORYBLOK_HOSTS: Record<string, string> = {
  eu: "https://a.storyblok.com",
  us: "https://a-us.storyblok.com",
  ap: "https://a-ap.storyblok.com",
  ca: "https://a-ca.storyblok.com",
  cn: "https://a.storyblokchina.cn",
};

export const extensionOf = (path: string) => /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";

export type EdgeTenant = Pick<
  TenantDoc,
  | "cms"
  | "spaceId"
  | "projectId"
  | "dataset"
  | "repositoryName"
  | "region"
  | "storeDomain"
  | "cloudName"
  | "imgixDomain"
  | "originUrl"
  | "videoOrigin"
>;

/**
 * The origin URL for a public path (with its query, already stripped of what the provider does not take), or null
 * when the provider serves nothing there.
 */
export function assetOrigin(t: EdgeTenant, path: string, query: URLSearchParams): { url: string; query: URLSearchParams } | null {
  const ext = extensionOf(path);
  const video = VIDEO_EXTENSIONS.has(ext);
  const q = new URLSearchParams(query);
  const join = (base: string) => `${base.replace(/\/+$/, "")}${path}`;
  switch (t.cms) {
    case "contentful":
      return { url: join(`https://${video ? "videos" : "images"}.ctfassets.net/${t.spaceId}`), query: q };
    case "sanity": {
      const kind = IMAGE_EXTENSIONS.has(ext) ? "images" : "files";
      return { url: join(`https://cdn.sanity.io/${kind}/${t.projectId}/${t.dataset ?? "production"}`), query: q };
    }
    case "prismic": {
      if (IMAGE_EXTENSIONS.has(ext)) {
        for (const key of [...q.keys()]) if (!PRISMIC_IMAGE_PARAMS.has(key)) q.delete(key);
        return { url: join(`https://images.prismic.io/${t.repositoryName}`), query: q };
      }
      return { url: join(`https://${t.repositoryName}.cdn.prismic.io`), query: q };
    }
    case "storyblok":
      if (!path.startsWith("/f/")) return null;
      return { url: join(STORYBLOK_HOSTS[t.region ?? "eu"] ?? STORYBLOK_HOSTS.eu), query: q };
    case "shopify":
      if (!path.startsWith("/cdn/shop/files/")) return null;
      return { url: join(`https://${t.storeDomain}`), query: q };
    case "cloudinary":
      if (!/^\/(image|video)\/upload\//.test(path)) return null;
      return { url: join(`https://res.cloudinary.com/${t.cloudName}`), query: q };
    case "imgix":
      return { url: join(`https://${t.imgixDomain}`), query: q };
    case "generic": {
      const base = video && t.videoOrigin ? t.videoOrigin : t.originUrl;
      return base ? { url: join(base), query: q } : null;
    }
    default:
      return null;
  }
}

/** JPEG under its registered type and the names origins still label it with (S3 uploads, old browsers' uploads). */
const JPEG = ["image/jpeg", "image/jpg", "image/pjpeg"];

/** MIME types an extension in allowedTypes stands for (with the unregistered aliases origins commonly send). */
const TYPES_OF: Record<string, string[]> = {
  jpg: JPEG,
  jpeg: JPEG,
  png: ["image/png", "image/x-png"],
  gif: ["image/gif"],
  webp: ["image/webp"],
  avif: ["image/avif"],
  svg: ["image/svg+xml"],
  ico: ["image/x-icon", "image/vnd.microsoft.icon"],
  bmp: ["image/bmp", "image/x-ms-bmp"],
  tif: ["image/tiff"],
  tiff: ["image/tiff"],
  heic: ["image/heic"],
  pdf: ["application/pdf"],
  mp4: ["video/mp4"],
  m4v: ["video/x-m4v", "video/mp4"],
  webm: ["video/webm"],
  mov: ["video/quicktime"],
  mp3: ["audio/mpeg", "audio/mp3"],
  wav: ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"],
  json: ["application/json"],
  txt: ["text/plain"],
  csv: ["text/csv"],
  woff: ["font/woff"],
  woff2: ["font/woff2"],
  ttf: ["font/ttf"],
  otf: ["font/otf"],
  zip: ["application/zip", "application/x-zip-compressed"],
  gz: ["application/gzip", "application/x-gzip"],
  jxl: ["image/jxl"],
  ogg: ["audio/ogg", "video/ogg", "application/ogg"],
  oga: ["audio/ogg"],
  ogv: ["video/ogg"],
  opus: ["audio/ogg", "audio/opus"],
  m4a: ["audio/mp4", "audio/x-m4a"],
  aac: ["audio/aac"],
  flac: ["audio/flac"],
  mpeg: ["video/mpeg"],
  mpg: ["video/mpeg"],
  doc: ["application/msword"],
  docx: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
  xls: ["application/vnd.ms-excel"],
  xlsx: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
  ppt: ["application/vnd.ms-powerpoint"],
  pptx: ["application/vnd.openxmlformats-officedocument.presentationml.presentation"],
};

/**
 * Whether a response type is one a browser runs as a page or script (HTML, any XML, XSLT, any script type, multipart
 * replacement): never served under an extension the table above does not know.
 */
const activeType = (mime: string) =>
  mime === "text/html" || mime === "text/xsl" || mime.endsWith("/xml") || mime.endsWith("+xml") || mime.includes("script") || mime.startsWith("multipart/");

/** Whether a response of this Content-Type is a page or script a browser would run (several types count as one). */
export function runsInBrowser(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (namesSeveralTypes(contentType)) return true;
  return activeType(contentType.split(";")[0].trim().toLowerCase());
}

/**
 * Whether an origin response may be served under the tenant's allowedTypes (the default list when unset): its
 * Content-Type must be one the listed extensions stand for; a response without a telling type (none, or
 * application/octet-stream) passes on the path's extension. A listed extension whose types are not known here
 * (tenants may list any) passes on the path's extension too, unless the response is of a type a browser would run
 * (HTML, SVG and any XML, script). A header naming several types is refused.
 */
export function typeAllowed(allowed: string[] | null | undefined, contentType: string | undefined, path: string): boolean {
  const list = allowed?.length ? allowed : DEFAULT_ALLOWED_TYPES;
  // Several types in one header (or several headers, joined) are refused: a browser takes the last one.
  if (contentType !== undefined && namesSeveralTypes(contentType)) return false;
  const mime = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (!mime || mime === "application/octet-stream") return list.includes(extensionOf(path));
  if (list.some((ext) => (TYPES_OF[ext] ?? []).includes(mime))) return true;
  const ext = extensionOf(path);
  return list.includes(ext) && TYPES_OF[ext] === undefined && !activeType(mime);
}

/**
 * Whether a Content-Type value holds a comma outside a quoted parameter value (`video/mp4; codecs="avc1, mp4a"` is
 * one type; `image/png, text/html` is two), or a quoted value that is never closed.
 */
function namesSeveralTypes(contentType: string): boolean {
  let quoted = false;
  for (let i = 0; i < contentType.length; i++) {
    const c = contentType[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) return true;
  }
  // A quote left open: no telling where the type ends.
  return quoted;
}

/**
 * A provider URL prefix, what it becomes, and (optionally) a pattern of what may follow the prefix for a URL to be
 * left alone (a URL of the prefix the edge would not serve from where it rewrites it to).
 */
export type RewritePrefix = [from: string, to: string, unless?: string];

/** The asset URL prefixes of the tenant's provider, as they appear in its API's JSON, each mapped to the edge. */
export function rewritePrefixes(t: EdgeTenant, edgeBase: string): RewritePrefix[] {
  const base = edgeBase.replace(/\/+$/, "");
  // Absolute (https and http) and protocol-relative spellings; rewritten longest first, so "//host" never
  // rewrites the inside of an absolute URL. Only the paths the edge serves for the provider are rewritten (`at` is
  // where they start on the edge): a link elsewhere on the provider's host (a page, an API link) is left alone.
  const both = (host: string, rest: string, at = "", unless?: string): RewritePrefix[] => [
    [`https://${host}${rest}`, `${base}${at}`, unless],
    [`http://${host}${rest}`, `${base}${at}`, unless],
    [`//${host}${rest}`, `${base}${at}`, unless],
  ];
  switch (t.cms) {
    // Where the edge picks the origin by extension, a URL is rewritten only from the origin the edge would fetch it
    // from again (a Sanity file named .png is fetched from /images/ by the edge, so it stays a Sanity URL).
    case "contentful":
      return [
        ...both("images.ctfassets.net", `/${t.spaceId}`, "", restEndingIn(VIDEO_EXTENSIONS)),
        ...both("videos.ctfassets.net", `/${t.spaceId}`, "", restNotEndingIn(VIDEO_EXTENSIONS)),
      ];
    case "sanity":
      return [
        ...both("cdn.sanity.io", `/images/${t.projectId}/${t.dataset ?? "production"}`, "", restNotEndingIn(IMAGE_EXTENSIONS)),
        ...both("cdn.sanity.io", `/files/${t.projectId}/${t.dataset ?? "production"}`, "", restEndingIn(IMAGE_EXTENSIONS)),
      ];
    case "prismic":
      // Files live under /<repository>/ on the repository's CDN host (its API under /api/ there is not an asset); an
      // image there is left alone, since the edge serves images from images.prismic.io; and anything but an image on
      // images.prismic.io, since the edge serves it from the files host.
      return [
        ...both("images.prismic.io", `/${t.repositoryName}`, "", restNotEndingIn(IMAGE_EXTENSIONS)),
        ...both(`${t.repositoryName}.cdn.prismic.io`, `/${t.repositoryName}`, `/${t.repositoryName}`, restEndingIn(IMAGE_EXTENSIONS)),
      ];
    case "storyblok": {
      const host = new URL(STORYBLOK_HOSTS[t.region ?? "eu"] ?? STORYBLOK_HOSTS.eu).host;
      return both(host, "/f", "/f");
    }
    case "shopify":
      return both(`${t.storeDomain}`, "/cdn/shop/files", "/cdn/shop/files");
    case "cloudinary":
      return [
        ...both("res.cloudinary.com", `/${t.cloudName}/image/upload`, "/image/upload"),
        ...both("res.cloudinary.com", `/${t.cloudName}/video/upload`, "/video/upload"),
      ];
    case "imgix":
      return both(`${t.imgixDomain}`, "");
    case "generic": {
      // With a video origin, videos come from it and everything else from the origin URL.
      const out: RewritePrefix[] = [];
      const split = Boolean(t.videoOrigin);
      for (const [origin, unless] of [
        [t.originUrl, split ? restEndingIn(VIDEO_EXTENSIONS) : undefined],
        [t.videoOrigin, restNotEndingIn(VIDEO_EXTENSIONS)],
      ] as const) {
        if (!origin) continue;
        const u = new URL(origin);
        out.push(...both(u.host, u.pathname.replace(/\/+$/, ""), "", unless));
      }
      return out;
    }
    default:
      return [];
  }
}

/** What may follow a rewritten prefix: the rest of a path, a query, a fragment, the end of a JSON string. */
const URL_END = String.raw`(?=[/?#"'\\\s]|$)`;
/** A pattern matching a lowercase word in any case. */
const anyCase = (word: string) => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
/** The rest of a URL (from the `/` after a prefix up to its query, fragment or the end of the string) whose path ends in one of the extensions. */
const restEndingIn = (extensions: Set<string>) => String.raw`/[^?#"'\\\s]*\.(?:${[...extensions].map(anyCase).join("|")})(?=[?#"'\\\s]|$)`;
/** The rest of a URL whose path does not end in one of the extensions. */
const restNotEndingIn = (extensions: Set<string>) =>
  String.raw`/[^?#"'\\\s]*(?=[?#"'\\\s]|$)(?<!\.(?:${[...extensions].map(anyCase).join("|")}))`;

/**
 * Rewrites every occurrence of the prefixes that ends there (followed by `/`, `?`, `#`, a quote, a backslash,
 * whitespace or the end — so `…/acme` does not rewrite `…/acme-staging/…`), longest prefix first.
 */
export function rewriteUrls(text: string, prefixes: RewritePrefix[]): string {
  let out = text;
  for (const [from, to, unless] of [...prefixes].sort((a, b) => b[0].length - a[0].length)) {
    if (!out.includes(from)) continue;
    const pattern = new RegExp(escapeRegex(from) + URL_END + (unless ? `(?!${unless})` : ""), "g");
    out = out.replace(pattern, () => to);
  }
  return out;
}
