"""Deterministic synthetic enterprise registry (企业登记信息) for benchmarks.

Columns: 统一社会信用代码 (valid GB 32100 check character), 企业名称, 行政区划代码,
成立日期, 注册资本 (exact decimals), 行业门类 (GB/T 4754 sections), 经营状态, 从业人数.
The same row count always gives the same bytes.
"""

import argparse
import csv
import datetime
import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
PROVINCES = ["11", "12", "13", "31", "32", "33", "34", "35", "37", "41", "42", "43", "44", "50", "51", "61"]
PROVINCE_NAMES = ["北京市", "天津市", "河北省", "上海市", "江苏省", "浙江省", "安徽省", "福建省", "山东省", "河南省",
                  "湖北省", "湖南省", "广东省", "重庆市", "四川省", "陕西省"]
PLACES = ["华", "东", "南", "西", "北", "中", "新", "金", "银", "泰", "瑞", "恒", "宏", "盛", "远", "达", "安", "康", "和", "信"]
WORDS = ["科技", "贸易", "建设", "物流", "餐饮", "医疗", "教育", "文化", "农业", "能源", "电子", "服装", "食品", "咨询", "传媒"]
FORMS = ["有限公司", "股份有限公司", "有限责任公司", "合伙企业（有限合伙）"]
SECTIONS = list("ABCDEFGHIJKLMNOPQRST")
STATUSES = ["存续", "在业", "吊销", "注销", "迁出"]


def usci(rng):
    body = "91" + rng.choice(PROVINCES) + "".join(rng.choice("0123456789") for _ in range(4))
    body += "".join(rng.choice(ALPHABET) for _ in range(9))
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS))
    return body + ALPHABET[(31 - total % 31) % 31]


def region_codes():
    codes = []
    for province in PROVINCES:
        for city in range(1, 6):
            for county in range(1, 13):
                codes.append(f"{province}{city:02d}{county:02d}")
    return codes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--regions-out", required=True)
    args = parser.parse_args()
    rng = random.Random(20261127)
    regions = region_codes()
    start = datetime.date(1985, 1, 1)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["统一社会信用代码", "企业名称", "行政区划代码", "成立日期", "注册资本", "行业门类", "经营状态", "从业人数"])
        for _ in range(args.rows):
            name = rng.choice(PLACES) + rng.choice(PLACES) + rng.choice(WORDS) + rng.choice(FORMS)
            day = start + datetime.timedelta(days=rng.randrange(14600))
            capital = f"{rng.randrange(1, 100_000_000) / 100:.2f}"
            w.writerow([usci(rng), name, rng.choice(regions), day.isoformat(), capital, rng.choice(SECTIONS),
                        rng.choice(STATUSES), rng.randrange(1, 5000)])
    with open(args.regions_out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["行政区划代码", "省份"])
        for code in regions:
            w.writerow([code, PROVINCE_NAMES[PROVINCES.index(code[:2])]])


if __name__ == "__main__":
    main()
