/** S3's XML wire format: just enough building and parsing for the operations the stand-in serves. */
import { XMLParser } from "fast-xml-parser";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export type XmlValue = string | number | boolean | undefined | XmlNode | XmlNode[];
export type XmlNode = { [tag: string]: XmlValue };

function render(tag: string, value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.map((item) => render(tag, item)).join("");
  if (typeof value === "object") {
    return `<${tag}>${Object.entries(value)
      .map(([child, v]) => render(child, v))
      .join("")}</${tag}>`;
  }
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

export function toXml(root: string, body: XmlNode): string {
  const inner = Object.entries(body)
    .map(([tag, value]) => render(tag, value))
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`;
}

export function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render("Error", {
    Code: code,
    Message: message,
    Resource: resource,
    RequestId: requestId,
  })}`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === "Part" || name === "Object",
});

export function parseXml(text: string): Record<string, unknown> {
  return parser.parse(text) as Record<string, unknown>;
}
