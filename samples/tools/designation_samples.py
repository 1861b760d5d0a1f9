#!/usr/bin/env python3
"""Writes the sample rows that exercise capability scores (PRODUCT.md §7): three new partners on their own new tenants,
so no figure of the original samples changes. Deterministic (uuid5); run from the repo root, then check the files in.

- Relecloud (global 9100000; locations 9100001 US via CSP, 9100002 IE via PAL) qualifies for Infrastructure; of its
  customers one was lost (its CSP link ended before the window) and one spends under the per-customer minimum.
- Lamna Healthcare Cloud (9200000) is eligible only through 2026-05, the earliest month of the window: its
  intermediate certifications expire on 2026-05-31, the last day of that month (still in force then), so from June on
  that metric is at 0.
- Tailwind Traders (9300000), DPOR of its customers, scores 80 but has no advanced certification: blocked by a zero metric.
"""
import uuid, csv, os

NS = uuid.UUID("6f1d2c1e-5d0a-4c53-9b8e-2b7f0d5e9a11")
def gid(name): return str(uuid.uuid5(NS, name))

def months(first, last):
    y, m = map(int, first.split("-")); ly, lm = map(int, last.split("-"))
    while (y, m) <= (ly, lm):
        yield f"{y:04d}-{m:02d}"
        m += 1
        if m == 13: y, m = y + 1, 1

usage, csp, pal, dpor, certs = [], [], [], [], []
# (tenant key, first month, revenue per month)
relecloud = [("relecloud-t1", "2025-01", 5000.00), ("relecloud-t2", "2025-11", 2500.00), ("relecloud-t3", "2025-11", 2500.00),
             ("relecloud-t4", "2025-11", 2500.00), ("relecloud-t5", "2025-11", 2500.00)]
lamna = [("lamna-u0", "2025-01", 2000.00), ("lamna-u1", "2025-11", 1500.00), ("lamna-u2", "2025-11", 1500.00), ("lamna-u3", "2025-11", 1500.00)]
tailwind = [("tailwind-v0", "2025-01", 3000.00), ("tailwind-v1", "2025-11", 2000.00), ("tailwind-v2", "2025-11", 2000.00),
            ("tailwind-v3", "2025-11", 2000.00), ("tailwind-v4", "2025-11", 2000.00)]
# Two more Relecloud customers for the eligibility view (`score --customers`): t6's CSP link ended 2025-10-31, before
# the credit window (credited a year ago, not now: a customer lost); t7 spends 700 USD a month, under the 1,000 minimum.
lost = ("relecloud-t6", "2025-01", 1200.00)
small = ("relecloud-t7", "2025-11", 700.00)
for key, first, revenue in relecloud + [lost, small] + lamna + tailwind:
    for m in months(first, "2026-10"):
        usage.append([gid(key), gid(key + "/sub"), "Azure", m, f"{revenue:.2f}", ""])
for key, first, _ in relecloud:
    if key == "relecloud-t5":
        # A Partner Admin Link scoped to the subscription and Azure: PAL credits like any association (§3, §7.1).
        pal.append([gid(key), "9100002", f"{first}-01", "", gid(key + "/sub"), "Azure"])
    else:
        csp.append([gid(key), gid(key + "/sub"), "9100001", f"{first}-01", "", "", ""])
csp.append([gid(lost[0]), gid(lost[0] + "/sub"), "9100001", "2025-01-01", "2025-10-31", "", ""])
csp.append([gid(small[0]), gid(small[0] + "/sub"), "9100001", "2025-11-01", "", "", ""])
for key, first, _ in lamna:
    csp.append([gid(key), gid(key + "/sub"), "9200000", f"{first}-01", "", "", "Azure"])
for key, first, _ in tailwind:
    dpor.append([gid(key + "/sub"), gid(key), "9300000", f"{first}-01", "set"])

for i in range(1, 6): certs.append(["9100001", f"rc-{i:02d}", "AZ-104", "2026-01-15", "2027-01-14"])
certs.append(["9100002", "rc-11", "AZ-305", "2026-02-01", "2027-01-31"])
certs.append(["9100002", "rc-12", "az-400", "2026-03-01", "2027-02-28"])  # lower-case code, stored AZ-400
for i in range(1, 6): certs.append(["9200000", f"lamna-{i:02d}", "AZ-700", "2025-06-01", "2026-05-31"])
certs.append(["9200000", "lamna-09", "AZ-305", "2025-09-01", "2026-08-31"])
for i in range(1, 6): certs.append(["9300000", f"tw-{i:02d}", "AZ-800", "2026-04-01", "2027-03-31"])

def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

root = "samples/feeds"
write(f"{root}/usage/usage-designations.csv", ["customerTenantId", "subscriptionId", "workload", "month", "consumedRevenueUsd", "activeUsers"], usage)
write(f"{root}/csp/csp-designations.csv", ["customerTenantId", "subscriptionId", "partnerId", "validFrom", "validTo", "resellerPartnerId", "workloads"], csp)
write(f"{root}/pal/pal-designations.csv", ["customerTenantId", "partnerId", "linkedOn", "unlinkedOn", "subscriptionId", "workloads"], pal)
write(f"{root}/dpor/dpor-designations.csv", ["subscriptionId", "customerTenantId", "partnerId", "effectiveDate", "action"], dpor)
write(f"{root}/certifications/certifications-designations.csv", ["partnerId", "personId", "certification", "earnedOn", "expiresOn"], certs)
print(len(usage), "usage rows")
