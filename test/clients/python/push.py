#!/usr/bin/python3
# A prometheus_client (Debian's python3-prometheus-client) user, driven by
# test/clients/clients.test.ts:
#
#   push.py <push|pushadd|delete> <variant> <job> <grouping-key-as-JSON> <gateway-url> [<gateway-url> ...]
#
# push is push_to_gateway (PUT), pushadd is pushadd_to_gateway (POST), delete is
# delete_from_gateway (DELETE). One registry is pushed to every gateway given, one after the
# other, so that every gateway receives the same body (the client writes wall-clock `_created`
# series, which would differ between two runs). Variant 1 pushes a counter vector, a gauge, a
# histogram, a summary, an info and an enum; variant 2 a changed gauge and a new counter (used
# with pushadd); variant 3 only a gauge (used with push, to show that PUT replaces the group).
# With PGW_TTL set, pushes carry the header Pushgateway-TTL with its value (docs/expiry.md),
# added by a handler wrapping default_handler, as the client's docs show for extra headers.
# Prints a JSON list with one result per gateway: {"gateway", "ok", "error"}; exits 0 unless
# it is misused.
import json
import os
import sys

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import (default_handler, delete_from_gateway, push_to_gateway,
                                          pushadd_to_gateway)


def ttl_handler(url, method, timeout, headers, data):
    return default_handler(url, method, timeout, headers + [('Pushgateway-TTL', os.environ['PGW_TTL'])], data)


def registry_for(variant):
    registry = CollectorRegistry()
    if variant == '1':
        requests = Counter('py_requests', 'Requests handled, by code.', ['code'], registry=registry)
        requests.labels(code='200').inc(41)
        requests.labels(code='500').inc()
        temperature = Gauge('py_temperature_celsius', 'A gauge with a "quoted" help.', registry=registry)
        temperature.set(-21.5)
        latency = Histogram('py_latency_seconds', 'A histogram.', buckets=(0.1, 0.5, 1), registry=registry)
        duration = Summary('py_job_duration_seconds', 'A summary (the Python client has no quantiles).',
                           registry=registry)
        for v in (0, 0.05, 0.3, 0.3, 0.7, 2, 12.5):
            latency.observe(v)
            duration.observe(v)
        Info('py_build', 'Build information.', registry=registry).info({'version': '1.2.3', 'branch': 'main'})
        Enum('py_state', 'An enum.', states=['starting', 'running', 'stopped'], registry=registry).state('running')
    elif variant == '2':
        Gauge('py_temperature_celsius', 'A gauge with a "quoted" help.', registry=registry).set(42)
        Counter('py_added', 'Only pushed by pushadd.', registry=registry).inc(3)
    elif variant == '3':
        Gauge('py_last_success_timestamp_seconds', 'The only family left after a second push.',
              registry=registry).set(1.5e9)
    else:
        raise SystemExit('unknown variant %r' % variant)
    return registry


def main():
    if len(sys.argv) < 6:
        raise SystemExit('usage: push.py <push|pushadd|delete> <variant> <job> <grouping-json> <url> [<url> ...]')
    op, variant, job, grouping_json = sys.argv[1:5]
    grouping = json.loads(grouping_json)
    gateways = sys.argv[5:]
    registry = registry_for(variant) if op != 'delete' else None
    results = []
    handler = ttl_handler if os.environ.get('PGW_TTL') else default_handler
    for gateway in gateways:
        try:
            if op == 'push':
                push_to_gateway(gateway, job=job, registry=registry, grouping_key=grouping, timeout=10,
                                handler=handler)
            elif op == 'pushadd':
                pushadd_to_gateway(gateway, job=job, registry=registry, grouping_key=grouping, timeout=10,
                                   handler=handler)
            elif op == 'delete':
                delete_from_gateway(gateway, job=job, grouping_key=grouping, timeout=10)
            else:
                raise SystemExit('unknown operation %r' % op)
            results.append({'gateway': gateway, 'ok': True})
        except OSError as e:  # the client raises URLError/HTTPError (both OSError) on failure
            results.append({'gateway': gateway, 'ok': False, 'error': str(e)})
    print(json.dumps(results))


if __name__ == '__main__':
    main()
