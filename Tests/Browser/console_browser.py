#!/usr/bin/env python3
"""Drives the web console in headless Chromium (Debian's chromium + chromium-driver, python3-selenium).

Logs in as an inspector, opens every page, and checks that the figures shown are those `energyctl report` prints
for the same period; then logs in as a town's account and checks it cannot see another town's enterprise, by page
or by API; then as the enterprise's account, enters a month of diesel with the enterprise page's form and checks the
stored figure is the one energyctl lists and counts. Prints one line per check; exits 1 on the first failure. With --screenshots DIR it saves the main pages.

  console_browser.py --url http://127.0.0.1:PORT --energyctl PATH --config FILE --period 2026-01-01..2026-01-06 \
      --inspector NAME --jurisdiction NAME --enterprise-account NAME --password PW [--screenshots DIR]
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

args = argparse.ArgumentParser()
for name in ("url", "energyctl", "config", "period", "inspector", "jurisdiction", "enterprise-account", "password"):
    args.add_argument("--" + name, required=True)
args.add_argument("--own-enterprise", default="E02")
args.add_argument("--other-enterprise", default="E01")
args.add_argument("--meter", default="E02-coal")
args.add_argument("--screenshots")
options = args.parse_args()


def fail(message):
    print("FAIL", message, flush=True)
    try:
        print("at", browser.current_url, browser.title, browser.find_element(By.TAG_NAME, "body").text[:1500], flush=True)
    except Exception:
        pass
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok", message, flush=True)


def energyctl(*arguments):
    return subprocess.run([options.energyctl, *arguments, "--config", options.config], check=True, capture_output=True, text=True).stdout


chrome = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1800", "--lang=zh-CN"):
    chrome.add_argument(flag)
chrome.binary_location = "/usr/bin/chromium"
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=chrome)
browser.set_page_load_timeout(60)


def shot(name):
    if options.screenshots:
        os.makedirs(options.screenshots, exist_ok=True)
        browser.save_screenshot(os.path.join(options.screenshots, name + ".png"))


def login(account):
    browser.delete_all_cookies()
    browser.get(options.url + "/")
    check("/login" in browser.current_url, f"{account}: an anonymous visit is sent to the login page")
    browser.find_element(By.ID, "account").send_keys(account)
    browser.find_element(By.ID, "password").send_keys(options.password)
    browser.find_element(By.ID, "login").click()
    # A click does not wait for the page it leads to: wait for the logged-in page's navigation.
    try:
        WebDriverWait(browser, 30).until(lambda b: "/login" not in b.current_url and b.find_elements(By.ID, "logout"))
    except Exception:
        fail(f"{account}: logged in")
    print("ok", f"{account}: logged in", flush=True)


def table(table_id):
    rows = browser.find_elements(By.CSS_SELECTOR, f"table#{table_id} tbody tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def get(path):
    browser.get(options.url + path)
    check("500" not in browser.title and "404" not in browser.title, f"{path} opens ({browser.title})")


try:
    period = options.period
    login(options.inspector)

    # District overview: the district table is energyctl's, cell for cell.
    get(f"/?period={period}")
    expected = list(csv.reader(io.StringIO(energyctl("report", "district", "--period", period, "--format", "csv"))))[1:]
    shown = table("district")
    check(shown == expected, f"district table equals energyctl report district ({len(expected)} rows)")
    check(len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) >= 1, "the overview has its chart")
    shot("district-overview")

    # The monthly report page shows the same table.
    get(f"/report?period={period}")
    check(table("district") == expected, "report page equals energyctl report district")

    # Enterprise: energy lines and products against energyctl's JSON for the same period.
    own = options.own_enterprise
    report = json.loads(energyctl("report", "enterprise", own, "--period", period, "--format", "json"))
    get(f"/enterprises/{own}?period={period}")
    energy = table("energy")
    check(len(energy) == len(report["energy"]), f"{own}: {len(energy)} energy lines")
    for row, line in zip(energy, report["energy"]):
        check(row[1] == f"{line['amount']:.2f}" and row[3] == (f"{line['kgce']:.2f}" if line.get("kgce") is not None else "-"),
              f"{own}: {row[0]} {row[1]} {row[3]} as energyctl")
    check(f"{report['comprehensiveKgce']:.2f}" in browser.find_element(By.ID, "comprehensive").text, f"{own}: comprehensive consumption {report['comprehensiveKgce']:.2f} kgce")
    products = table("products")
    for row, product in zip(products, report["products"]):
        unit = product.get("unitConsumption")
        check(row[3] == (f"{unit:.2f}" if unit is not None else "-") and row[6] == product["verdictChinese"],
              f"{own}: {product['product']} {row[3]} {row[6]}")
    check(len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) >= 4, f"{own}: charts by day, completeness, by month, unit consumption")
    check(len(table("meters")) > 0, f"{own}: meters listed")
    shot("enterprise")

    get(f"/meters/{options.meter}")
    check(len(browser.find_elements(By.CSS_SELECTOR, "svg.chart path")) >= 1, f"{options.meter}: trend drawn through its readings")
    shot("meter")

    get("/alerts")
    check(len(browser.find_elements(By.CSS_SELECTOR, "table#alerts")) == 1, "alerts page")
    shot("alerts")

    # English on request.
    get(f"/?period={period}&lang=en")
    check("District overview" in browser.page_source, "English on request")
    get(f"/?period={period}&lang=zh")

    # A town's account: its own town only, by page and by API.
    login(options.jurisdiction)
    browser.get(options.url + f"/enterprises/{options.other_enterprise}")
    check("404" in browser.title, f"{options.jurisdiction}: another town's enterprise page is not found")
    browser.get(options.url + f"/api/v1/enterprises/{options.other_enterprise}")
    check('"error"' in browser.page_source and options.other_enterprise not in browser.page_source.split('"error"')[0],
          f"{options.jurisdiction}: another town's enterprise is refused by the API")
    browser.get(options.url + "/api/v1/enterprises")
    listed = [e["id"] for e in json.loads(browser.find_element(By.TAG_NAME, "body").text)["enterprises"]]
    check(listed == [own], f"{options.jurisdiction}: the API lists {listed}")
    get(f"/?period={period}")
    towns = [row[0] for row in table("district")]
    check(towns[-1] == "合计" and len(towns) == 2 and options.other_enterprise not in browser.page_source,
          f"{options.jurisdiction}: overview shows {towns}")

    # The enterprise's account enters a month of diesel (手工填报) with its page's form.
    login(options.enterprise_account)
    get(f"/enterprises/{own}?period=2026-01")
    form = browser.find_element(By.ID, "entry-form")
    form.find_element(By.NAME, "month").send_keys("2026-01")
    form.find_element(By.CSS_SELECTOR, "select[name=energy] option[value=diesel]").click()
    form.find_element(By.NAME, "unit").send_keys("t")
    form.find_element(By.NAME, "consumption").send_keys("12.5")
    form.find_element(By.TAG_NAME, "button").click()
    try:
        WebDriverWait(browser, 30).until(lambda b: b.current_url.endswith("?period=2026-01#entries") and b.find_elements(By.ID, "energy-entries"))
    except Exception:
        fail(f"{options.enterprise_account}: the entry form leads back to the entries")
    rows = table("energy-entries")
    check(any(row[0] == "2026-01" and row[1] == "柴油" and row[6] == "12.50" for row in rows), f"{own}: the page lists the diesel entered: {rows}")
    listed = json.loads(energyctl("entry", "list", "--enterprise", own, "--format", "json"))
    check([(e["month"], e["energy"], e["consumption"], e["unit"], e["source"]) for e in listed]
          == [("2026-01", "diesel", 12.5, "t", "web:" + options.enterprise_account)], f"energyctl lists the same entry: {listed}")
    month = json.loads(energyctl("consumption", "--enterprise", own, "--from", "2026-01-01", "--to", "2026-02-01", "--by", "month", "--format", "json"))
    diesel = [line for line in month["lines"] if line["energy"] == "diesel" and line["source"] == "entered"]
    # GB/T 2589-2020: 12 500 kg × 1.4571 kgce/kg = 18 213.75 kgce.
    check(len(diesel) == 1 and abs(diesel[0]["kgce"] - 18213.75) < 1e-6, f"{own}: January counts 18 213.75 kgce of entered diesel: {diesel}")
    print("all checks passed", flush=True)
finally:
    browser.quit()
