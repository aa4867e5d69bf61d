"""A tiny OTLP/HTTP trace collector for the benchmarks: decodes each export and counts spans.

`python bench/gateway/otlp_collector.py PORT_FILE` serves on an ephemeral port of 127.0.0.1
(written to PORT_FILE once listening): POST /v1/traces takes an ExportTraceServiceRequest
(protobuf, as the OTLP/HTTP exporters send it), GET /stats answers {"exports", "spans",
"bytes"}. It runs in a process of its own, so its CPU never counts as the gateway's. Needs the
`otel` extra (opentelemetry-proto comes with the exporter).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

STATS = {"exports": 0, "spans": 0, "bytes": 0}


class Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        request = ExportTraceServiceRequest.FromString(body)
        STATS["exports"] += 1
        STATS["bytes"] += len(body)
        STATS["spans"] += sum(len(scope.spans) for resource in request.resource_spans
                              for scope in resource.scope_spans)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        body = json.dumps(STATS).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
