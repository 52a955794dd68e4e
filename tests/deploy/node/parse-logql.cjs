// Parses LogQL queries with Grafana's own grammar (@grafana/lezer-logql, what Grafana's Loki editor uses).
// stdin: a JSON array of queries; stdout: a JSON array, per query null when it parses, else where it failed.
const { parser } = require("@grafana/lezer-logql");

function firstError(query) {
  let error = null;
  parser.parse(query).iterate({
    enter(node) {
      if (node.type.isError && error === null) {
        error = `syntax error at ${node.from}: ${JSON.stringify(query.slice(node.from, node.from + 20))}`;
      }
    },
  });
  return error;
}

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(firstError)));
});
