#!/usr/bin/python3
"""HTTP side of the metrics test (urllib, no extra packages).

  prom.py scrape URL OUTFILE     GET URL into OUTFILE; prints the Content-Type
  prom.py wait URL SECONDS       until URL answers 200 (exit 1 on timeout)
  prom.py query BASE PROMQL      instant query via BASE/api/v1/query; prints
                                 one line per series: {labels} value
"""
import json
import sys
import time
import urllib.parse
import urllib.request


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def main():
    cmd = sys.argv[1]
    if cmd == "scrape":
        status, ctype, body = get(sys.argv[2])
        with open(sys.argv[3], "wb") as f:
            f.write(body)
        print(ctype)
        return 0 if status == 200 else 1
    if cmd == "wait":
        deadline = time.time() + float(sys.argv[3])
        last = ""
        while time.time() < deadline:
            try:
                if get(sys.argv[2], timeout=1)[0] == 200:
                    return 0
            except Exception as e:  # not up yet
                last = str(e)
            time.sleep(0.1)
        print("%s did not answer: %s" % (sys.argv[2], last), file=sys.stderr)
        return 1
    if cmd == "query":
        url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[3]})
        doc = json.loads(get(url)[2])
        if doc.get("status") != "success":
            print("query failed: %s" % doc, file=sys.stderr)
            return 1
        lines = []
        for r in doc["data"]["result"]:
            labels = ",".join("%s=%s" % kv for kv in sorted(r["metric"].items())
                              if kv[0] not in ("instance", "job"))
            lines.append("{%s} %s" % (labels, r["value"][1]))
        for line in sorted(lines):  # Prometheus gives no order
            print(line)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
