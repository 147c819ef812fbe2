// Parses Mermaid diagrams with Mermaid itself and prints what it understood, as JSON.
// Input on stdin: a JSON list of diagram texts. Output: one entry per diagram, either
// {"error": message} or the parsed flowchart (nodes, edges, subgraphs, classes, config).
import { JSDOM } from "jsdom";

// Mermaid sanitises labels with DOMPurify, which needs a DOM even to parse.
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const results = [];
for (const text of texts) {
  try {
    // parse() runs Mermaid's whole pipeline (front matter, directives, comments) but returns
    // no diagram; the diagram is read again from the text, which that pipeline leaves as it
    // is when it holds no front matter, directive or comment (the config says none applied).
    const parsed = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    results.push({
      type: parsed.diagramType,
      config: parsed.config ?? {},
      nodes: [...db.getVertices().values()].map((v) => ({
        id: v.id,
        text: v.text,
        shape: v.type,
        classes: v.classes,
      })),
      edges: db.getEdges().map((e) => ({
        start: e.start,
        end: e.end,
        text: e.text,
        stroke: e.stroke,
      })),
      subgraphs: db.getSubGraphs().map((s) => ({ id: s.id, title: s.title, nodes: s.nodes })),
      classes: Object.fromEntries([...db.getClasses().entries()].map(([k, v]) => [k, v.styles])),
    });
  } catch (error) {
    results.push({ error: String(error?.message ?? error).split("\n")[0] });
  }
}
process.stdout.write(JSON.stringify(results));
