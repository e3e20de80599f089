#!/usr/bin/env python3
"""Write leads.csv: 5,000 sample leads for the demo table and roster.

One week of inbound and outbound leads of a B2B SaaS company, captured between
2026-11-17 and 2026-11-23 (UTC), in arrival order. The mix is what a sales-ops
team sees: most leads from companies in North America and EMEA, several people
from the same company (the account owner keeps them), people who send the form
twice (dedupe by email), free-mail sign-ups, students, test submissions,
competitors, leads without a postal code or a region, and a few in languages no
rep speaks. Every cell is valid: no row is malformed (those belong to tests).

The output is deterministic: the same seed writes the same file, byte for byte.
leads.csv is committed, so the demo needs no generation step; run this only to
change the data:

    python3 examples/data/demo/make_leads.py            # rewrites leads.csv
    python3 examples/data/demo/make_leads.py --out -    # to stdout

Python 3 standard library only.
"""

import argparse
import csv
import datetime
import os
import random
import sys
import unicodedata

SEED = 20261123
COUNT = 5000
WINDOW_START = datetime.datetime(2026, 11, 17, tzinfo=datetime.timezone.utc)
WINDOW_DAYS = 7

HEADER = ["id", "company", "email", "email_domain", "title", "country", "postal", "region",
          "industry", "employees", "score", "language", "products:set", "source", "deal_value",
          "captured_at"]

# --- people and companies, by locale ---------------------------------------------------

FIRST = {
    "en": ["James", "Mary", "Robert", "Jennifer", "Michael", "Linda", "David", "Sarah", "Daniel",
           "Emily", "Chris", "Jessica", "Matthew", "Ashley", "Andrew", "Olivia", "Ryan", "Megan",
           "Kevin", "Laura", "Brian", "Rachel", "Jason", "Amanda", "Tom", "Grace", "Sam", "Priya",
           "Aisha", "Wei", "Carlos", "Fatima", "Liam", "Noah", "Emma", "Ava", "Ben", "Zoe"],
    "de": ["Jürgen", "Lena", "Max", "Anna", "Lukas", "Sophie", "Felix", "Marie", "Jonas", "Laura",
           "Tobias", "Katharina", "Stefan", "Julia", "Matthias", "Sabine", "Florian", "Hannah",
           "Björn", "Jörg", "Ursula", "Uwe", "Sören", "Claudia"],
    "fr": ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Théo", "Inès", "Jules",
           "Élodie", "Mathieu", "Sébastien", "Amélie", "François", "Noémie", "Gaëlle", "Rémi"],
    "nl": ["Daan", "Sanne", "Bram", "Lotte", "Jeroen", "Femke", "Ruben", "Anouk", "Thijs", "Eva",
           "Joost", "Marloes"],
    "es": ["Alejandro", "Lucía", "Javier", "María", "Pablo", "Carmen", "Diego", "Sofía", "Andrés",
           "Valentina", "José", "Ana", "Martín", "Camila", "Íñigo"],
    "it": ["Giulia", "Luca", "Francesca", "Marco", "Chiara", "Alessandro", "Sara", "Matteo",
           "Elena", "Davide", "Niccolò"],
    "nordic": ["Lars", "Ingrid", "Erik", "Astrid", "Magnus", "Freya", "Søren", "Maja", "Oskar",
               "Sigrid", "Mikko", "Aino"],
    "pl": ["Agnieszka", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Łukasz", "Zofia"],
    "pt": ["João", "Ana", "Pedro", "Mariana", "Tiago", "Beatriz", "Rafael", "Gabriela", "Luís"],
    "ja": ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Takumi", "Sakura", "Kenji", "Yuki"],
    "zh": ["Wei", "Fang", "Jun", "Li", "Hao", "Xiu", "Ming", "Yan", "Lei", "Jing"],
    "ko": ["Ji-woo", "Min-jun", "Seo-yeon", "Do-yun", "Ha-eun", "Ji-ho", "Soo-ah"],
    "in": ["Arjun", "Priya", "Rahul", "Ananya", "Vikram", "Sneha", "Rohan", "Kavya", "Aditya"],
    "sea": ["Somchai", "Nattaya", "Anh", "Minh", "Putri", "Budi", "Siti", "Thanh", "Kittipong"],
}

LAST = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
           "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
           "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott",
           "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "O'Connor", "Murphy", "Patel",
           "Nguyen", "Chen", "Okafor", "Singh", "Kowalski", "Reyes"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
           "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
           "Weiß", "Huber", "Gruber", "Steiner", "Brunner", "Keller", "Baumann"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier",
           "Girard", "Bonnet", "Mercier", "Favre", "Rousseau", "Chevalier"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
           "Smit", "Meijer", "de Boer", "Mulder", "Peeters", "Janssens", "Maes"],
    "es": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Castillo"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Conti", "De Luca", "Bernasconi"],
    "nordic": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Hansen", "Jensen", "Nielsen",
               "Olsen", "Larsen", "Lindqvist", "Virtanen", "Korhonen", "Sørensen", "Ødegård"],
    "pl": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
           "Zieliński"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Ferreira", "Pereira", "Costa", "Rodrigues",
           "Almeida", "Gonçalves"],
    "ja": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
           "Kobayashi", "Kato"],
    "zh": ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"],
    "ko": ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"],
    "in": ["Sharma", "Verma", "Gupta", "Iyer", "Reddy", "Nair", "Mehta", "Kapoor", "Rao", "Joshi"],
    "sea": ["Srisai", "Wongsa", "Nguyen", "Tran", "Pham", "Santoso", "Wijaya", "Rahman", "Le"],
}

# Company names: a word from the founder, the place or a brand, and what the company does.
BRAND = ["Northwind", "Bluefield", "Summit", "Cedar", "Ironbridge", "Silverline", "Brightpath",
         "Keystone", "Harbor", "Granite", "Redwood", "Lakeshore", "Peak", "Falcon", "Orbit",
         "Evergreen", "Copperleaf", "Tidewater", "Meridian", "Atlas", "Beacon", "Crescent",
         "Pinnacle", "Sterling", "Vantage", "Wildflower", "Quarry", "Ridgeway", "Sunbeam", "Polar"]
TRADE = {
    "en": ["Analytics", "Logistics", "Health", "Robotics", "Foods", "Capital", "Software",
           "Systems", "Labs", "Partners", "Manufacturing", "Energy", "Media", "Retail Group",
           "Insurance", "Dynamics", "Cloud", "Networks", "Consulting", "Freight"],
    "de": ["Maschinenbau", "Logistik", "Software", "Elektrotechnik", "Versicherungen", "Handel",
           "Automotive", "Medizintechnik", "Bau", "Energie", "Digital", "Feinkost", "Verpackung"],
    "fr": ["Transports", "Conseil", "Logiciels", "Industries", "Assurances", "Distribution",
           "Énergie", "Santé", "Agroalimentaire", "Numérique"],
    "nl": ["Logistiek", "Techniek", "Software", "Groep", "Bouw", "Installatie", "Data"],
    "es": ["Transportes", "Consultoría", "Soluciones", "Industrias", "Seguros", "Distribuciones",
           "Tecnología", "Alimentación"],
    "it": ["Meccanica", "Trasporti", "Consulenza", "Tecnologie", "Assicurazioni", "Alimentari",
           "Sistemi"],
    "nordic": ["Teknik", "Logistik", "Data", "Energi", "Systems", "Marine", "Design"],
    "pl": ["Logistyka", "Technologie", "Systemy", "Budownictwo", "Handel"],
    "pt": ["Tecnologia", "Logística", "Soluções", "Engenharia", "Pagamentos", "Alimentos"],
}
# What a trade word in a name says about the industry ("Müller Logistik" is in logistics).
TRADE_INDUSTRY = {}
for _industry, _words in {
    "software": ["Analytics", "Software", "Systems", "Labs", "Dynamics", "Cloud", "Digital", "Data",
                 "Logiciels", "Numérique", "Soluciones", "Tecnología", "Tecnologie", "Sistemi",
                 "Technologie", "Systemy", "Tecnologia", "Soluções"],
    "logistics": ["Logistics", "Freight", "Logistik", "Transports", "Transportes", "Trasporti",
                  "Logistiek", "Logistyka", "Logística", "Marine"],
    "healthcare": ["Health", "Medizintechnik", "Santé"],
    "insurance": ["Insurance", "Versicherungen", "Assurances", "Seguros", "Assicurazioni"],
    "fintech": ["Capital", "Pagamentos"],
    "manufacturing": ["Robotics", "Manufacturing", "Maschinenbau", "Elektrotechnik", "Automotive",
                      "Bau", "Verpackung", "Industries", "Industrias", "Meccanica", "Techniek", "Bouw",
                      "Installatie", "Teknik", "Budownictwo", "Engenharia"],
    "energy": ["Energy", "Energie", "Énergie", "Energi"],
    "media": ["Media", "Design"],
    "retail": ["Foods", "Retail Group", "Handel", "Feinkost", "Distribution", "Agroalimentaire",
               "Distribuciones", "Alimentación", "Alimentari", "Alimentos"],
    "consulting": ["Consulting", "Conseil", "Consultoría", "Consulenza", "Partners", "Groep"],
    "telecom": ["Networks"],
}.items():
    for _word in _words:
        TRADE_INDUSTRY[_word] = _industry

LEGAL = {
    "US": ["Inc.", "LLC", "Corp.", "Inc.", ""], "CA": ["Inc.", "Ltd.", "Corp."],
    "GB": ["Ltd", "plc", "Ltd"], "IE": ["Ltd", "DAC"], "AU": ["Pty Ltd"], "NZ": ["Ltd"],
    "SG": ["Pte. Ltd."], "IN": ["Pvt. Ltd.", "Ltd."], "ZA": ["(Pty) Ltd"], "IL": ["Ltd."],
    "AE": ["LLC", "FZ-LLC"], "DE": ["GmbH", "AG", "GmbH & Co. KG", "SE"], "AT": ["GmbH", "AG"],
    "CH": ["AG", "GmbH", "SA"], "LI": ["AG", "Anstalt"], "FR": ["SAS", "SA", "SARL"],
    "BE": ["NV", "SA", "BV"], "NL": ["B.V.", "N.V."], "ES": ["S.L.", "S.A."], "IT": ["S.r.l.", "S.p.A."],
    "SE": ["AB"], "DK": ["A/S", "ApS"], "NO": ["AS", "ASA"], "FI": ["Oy", "Oyj"],
    "PL": ["sp. z o.o.", "S.A."], "PT": ["Lda.", "S.A."], "BR": ["Ltda.", "S.A."],
    "MX": ["S.A. de C.V."], "AR": ["S.A.", "S.R.L."], "CL": ["SpA", "S.A."], "CO": ["S.A.S."],
    "RU": ["OOO", "AO"], "BY": ["OOO"], "IR": ["Co."],
}
# Names in their own script, with the romanized name the company uses for its domain.
NATIVE = {
    "JP": [("株式会社サクラ技研", "sakura-giken"),
           ("富士ロジスティクス株式会社", "fuji-logistics"),
           ("株式会社ミライデータ", "miraidata"),
           ("東京精機株式会社", "tokyo-seiki"),
           ("株式会社アオバ商事", "aoba-shoji"),
           ("大阪フードサービス株式会社", "osaka-foods")],
    "CN": [("北京云图科技有限公司", "yuntu-tech"),
           ("上海星河数据有限公司", "xinghe-data"),
           ("深圳华创电子有限公司", "huachuang-elec"),
           ("杭州青木软件有限公司", "qingmu-soft")],
    "KR": [("주식회사 한빛소프트웨어", "hanbit-sw"),
           ("서울물류 주식회사", "seoul-logis"),
           ("주식회사 미래테크", "mirae-tech")],
    "VN": [("Công ty TNHH Minh Phát", "minhphat"), ("Công ty Cổ phần Sông Hồng", "songhong")],
    "TH": [("Siam Digital Co., Ltd.", "siamdigital"),
           ("บริษัท กรุงเทพ ดาต้า จำกัด", "bangkokdata")],
    "ID": [("PT Nusantara Data", "nusantaradata"), ("PT Maju Bersama Logistik", "majubersama")],
}

TITLES = ["CEO", "CTO", "CFO", "COO", "Founder", "Co-Founder", "VP Sales", "VP Marketing",
          "Head of Revenue Operations", "Sales Operations Manager", "Director, Sales Ops",
          "Marketing Manager", "Demand Generation Lead", "Account Executive", "IT Director",
          "Procurement Lead", "Growth Lead", "RevOps Analyst", "CRM Administrator",
          "Head of Customer Success", "Business Analyst", "Director, Finance & Operations"]
LOCAL_TITLES = {
    "de": ["Geschäftsführer", "Leitung Vertrieb", "Vertriebsleiter", "Prokurist"],
    "fr": ["Directeur commercial", "Responsable marketing", "Président-directeur général"],
    "es": ["Director comercial", "Responsable de ventas"],
    "ja": ["営業部長", "代表取締役"],
}
STUDENT_TITLES = ["Student", "Student, Business Informatics", "Werkstudent Vertrieb",
                  "Intern, Sales Ops", "PhD candidate", "phd student", "Masters student"]
UNIVERSITIES = ["tum.de", "stanford.edu", "ucl.ac.uk", "ethz.ch", "uva.nl", "u-tokyo.ac.jp",
                "unimelb.edu.au", "utoronto.ca"]

FREEMAIL = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com",
            "icloud.com", "gmx.de", "web.de", "googlemail.com", "qq.com", "163.com", "live.com",
            "proton.me"]

INDUSTRIES = [("software", 18), ("fintech", 6), ("banking", 4), ("insurance", 4),
              ("manufacturing", 12), ("retail", 8), ("healthcare", 7), ("logistics", 7),
              ("consulting", 6), ("media", 4), ("telecom", 3), ("energy", 3), ("hospitality", 3),
              ("education", 3), ("government", 3), ("nonprofit", 2)]
PRODUCTS = ["crm", "cpq", "analytics", "ai", "payments", "api"]

SOURCES = [("web", 52), ("outbound", 17), ("event", 15), ("partner", 7), ("referral", 7)]


# --- countries: region, share of leads, languages, domain, postal codes, names ----------

def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def us_zip(rng):
    # first digit: 0 New England .. 9 Pacific, weighted by population
    first = rng.choices("0123456789", weights=[8, 12, 11, 13, 9, 5, 9, 11, 7, 15])[0]
    code = first + digits(rng, 4)
    return code + "-" + digits(rng, 4) if rng.random() < 0.08 else code


def ca_postal(rng):
    # first letter: province (A..E Atlantic, G H J Quebec, K..P Ontario, R S T prairies, V X Y west)
    first = rng.choices("ABCEGHJKLMNPRSTVXY",
                        weights=[1, 2, 0.5, 1.5, 3, 7, 3, 5, 8, 10, 3, 1, 2, 2, 8, 10, 0.2, 0.1])[0]
    letters = "ABCEGHJKLMNPRSTVWXYZ"
    code = (first + rng.choice("0123456789") + rng.choice(letters) + " " +
            rng.choice("0123456789") + rng.choice(letters) + rng.choice("0123456789"))
    r = rng.random()
    if r < 0.04:
        return code.lower()            # typed by hand
    if r < 0.08:
        return code.replace(" ", "")
    return code


def uk_postcode(rng):
    area = rng.choice(["EC2A", "SW1A", "M1", "B3", "LS1", "EH2", "G2", "BS1", "CB2", "E14"])
    return area + " " + rng.choice("123456789") + rng.choice("ABDEFGHJLNPQRSTUWXYZ") * 2


def nl_postcode(rng):
    return str(rng.randint(1011, 9999)) + " " + rng.choice("ABCDEGHJKLMNPRSTVWXZ") * 2


def pt_postal(rng):
    return str(rng.randint(1000, 9999)) + "-" + digits(rng, 3)


def jp_postal(rng):
    return digits(rng, 3) + "-" + digits(rng, 4)


def br_cep(rng):
    return digits(rng, 5) + "-" + digits(rng, 3)


def num(lo, hi):
    return lambda rng: str(rng.randint(lo, hi))


def zero_pad(n):
    return lambda rng: digits(rng, n)


# code: (region, weight, [(language, weight)], name locale, tld, postal generator)
COUNTRIES = {
    "US": ("NA", 34, [("en", 96), ("es", 4)], "en", "com", us_zip),
    "CA": ("NA", 6, None, "en", "ca", ca_postal),        # language follows the province
    "DE": ("EMEA", 8, [("de", 80), ("en", 20)], "de", "de", zero_pad(5)),
    "AT": ("EMEA", 2, [("de", 85), ("en", 15)], "de", "at", num(1010, 9992)),
    "CH": ("EMEA", 2.5, [("de", 58), ("fr", 22), ("it", 8), ("en", 11), ("rm", 1)], "de", "ch",
           num(1000, 9658)),
    "LI": ("EMEA", 0.1, [("de", 100)], "de", "li", num(9485, 9498)),
    "GB": ("EMEA", 7, [("en", 100)], "en", "co.uk", uk_postcode),
    "IE": ("EMEA", 1.5, [("en", 100)], "en", "ie", lambda rng: "D" + digits(rng, 2)),
    "FR": ("EMEA", 4, [("fr", 70), ("en", 30)], "fr", "fr", zero_pad(5)),
    "BE": ("EMEA", 1.2, [("nl", 30), ("fr", 30), ("en", 40)], "nl", "be", num(1000, 9992)),
    "NL": ("EMEA", 3, [("nl", 40), ("en", 60)], "nl", "nl", nl_postcode),
    "ES": ("EMEA", 2.5, [("es", 70), ("en", 30)], "es", "es", zero_pad(5)),
    "IT": ("EMEA", 2.5, [("it", 70), ("en", 30)], "it", "it", zero_pad(5)),
    "SE": ("EMEA", 1.5, [("en", 90), ("sv", 10)], "nordic", "se", num(10005, 98499)),
    "DK": ("EMEA", 1, [("en", 92), ("da", 8)], "nordic", "dk", num(1050, 9990)),
    "NO": ("EMEA", 1, [("en", 92), ("no", 8)], "nordic", "no", zero_pad(4)),
    "FI": ("EMEA", 0.8, [("en", 95), ("fi", 5)], "nordic", "fi", zero_pad(5)),
    "PL": ("EMEA", 1.2, [("pl", 30), ("en", 70)], "pl", "pl",
           lambda rng: digits(rng, 2) + "-" + digits(rng, 3)),
    "PT": ("EMEA", 0.6, [("pt", 55), ("en", 45)], "pt", "pt", pt_postal),
    "IL": ("EMEA", 0.8, [("en", 100)], "en", "co.il", zero_pad(7)),
    "AE": ("EMEA", 0.8, [("en", 93), ("ar", 7)], "en", "ae", lambda rng: ""),
    "ZA": ("EMEA", 0.8, [("en", 100)], "en", "co.za", zero_pad(4)),
    "JP": ("APAC", 3, [("ja", 85), ("en", 15)], "ja", "co.jp", jp_postal),
    "AU": ("APAC", 3, [("en", 100)], "en", "com.au", zero_pad(4)),
    "NZ": ("APAC", 0.7, [("en", 100)], "en", "co.nz", zero_pad(4)),
    "SG": ("APAC", 1.5, [("en", 95), ("zh", 5)], "en", "sg", zero_pad(6)),
    "IN": ("APAC", 2, [("en", 90), ("hi", 10)], "in", "in", num(110001, 855126)),
    "KR": ("APAC", 1, [("ko", 75), ("en", 25)], "ko", "co.kr", zero_pad(5)),
    "CN": ("APAC", 1, [("zh", 85), ("en", 15)], "zh", "cn", zero_pad(6)),
    "TH": ("APAC", 0.1, [("th", 60), ("en", 40)], "sea", "co.th", zero_pad(5)),
    "VN": ("APAC", 0.1, [("vi", 60), ("en", 40)], "sea", "vn", zero_pad(6)),
    "ID": ("APAC", 0.1, [("id", 55), ("en", 45)], "sea", "co.id", zero_pad(5)),
    "BR": ("LATAM", 1.0, [("pt", 85), ("en", 15)], "pt", "com.br", br_cep),
    "MX": ("LATAM", 0.8, [("es", 85), ("en", 15)], "es", "com.mx", zero_pad(5)),
    "AR": ("LATAM", 0.4, [("es", 90), ("en", 10)], "es", "com.ar", lambda rng: "C" + digits(rng, 4)),
    "CL": ("LATAM", 0.3, [("es", 90), ("en", 10)], "es", "cl", zero_pad(7)),
    "CO": ("LATAM", 0.3, [("es", 90), ("en", 10)], "es", "com.co", zero_pad(6)),
}
COUNTRY_CODES = list(COUNTRIES)
COUNTRY_WEIGHTS = [COUNTRIES[c][1] for c in COUNTRY_CODES]


# --- helpers ----------------------------------------------------------------------------

def ascii_fold(text):
    """Lower-case ASCII for addresses and domains: Müller -> mueller, Søren -> soren."""
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ø", "o"), ("æ", "ae"),
                 ("å", "a"), ("ł", "l")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c in " -.'"))


def slug(text):
    folded = ascii_fold(text)
    return "-".join(w for w in folded.replace("'", "").replace(".", " ").split() if w)


def pick(rng, weighted):
    items = [w[0] for w in weighted]
    return rng.choices(items, weights=[w[1] for w in weighted])[0]


def employees_for(rng):
    bucket = rng.choices([(1, 19), (20, 49), (50, 199), (200, 999), (1000, 4999), (5000, 120000)],
                         weights=[14, 15, 29, 24, 12, 6])[0]
    lo, hi = bucket
    # log-uniform inside the bucket: more 60-person firms than 190-person ones
    value = int(round(lo * (hi / lo) ** rng.random()))
    if value >= 1000:
        value = int(round(value, -2))
    return value


class Company:
    def __init__(self, name, domain, country, region, postal, industry, employees):
        self.name = name
        self.domain = domain
        self.country = country
        self.region = region
        self.postal = postal
        self.industry = industry
        self.employees = employees        # None: unknown
        self.contacts = []                # Person objects already seen


class Person:
    def __init__(self, first, last, email, title, language):
        self.first = first
        self.last = last
        self.email = email
        self.title = title
        self.language = language


def company_name(rng, country, locale):
    """(display name, domain base, industry the name implies or None)."""
    if country in NATIVE and rng.random() < 0.5:
        return rng.choice(NATIVE[country]) + (None,)
    trade_locale = locale if locale in TRADE else "en"
    surname_locale = locale if locale in LAST else "en"
    style = rng.random()
    trade = rng.choice(TRADE[trade_locale])
    if style < 0.4:
        base = rng.choice(LAST[surname_locale]) + " " + trade
    elif style < 0.75:
        base = rng.choice(BRAND) + " " + trade
    elif style < 0.85:
        trade = None
        base = rng.choice(LAST[surname_locale]) + ", " + rng.choice(LAST[surname_locale]) + " & Partners"
    else:
        trade = None
        base = rng.choice(BRAND) + rng.choice(["ly", "io", "ware", "hub", "stack", "flow"])
    legal = rng.choice(LEGAL.get(country, [""]))
    name = (base + " " + legal).strip()
    return name, slug(base), TRADE_INDUSTRY.get(trade)


def language_for(rng, country, postal):
    if country not in COUNTRIES:
        return "en"                      # chat leads: no country, they wrote in English
    if country == "CA":
        if postal and postal[0].upper() in "GHJ":
            return pick(rng, [("fr", 70), ("en", 30)])
        return pick(rng, [("en", 97), ("fr", 3)])
    return pick(rng, COUNTRIES[country][2])


def email_for(rng, first, last, domain):
    f, l = slug(first).replace("-", ""), slug(last).replace("-", "")
    pattern = rng.random()
    if pattern < 0.5:
        local = f + "." + l
    elif pattern < 0.75:
        local = f[0] + "." + l
    elif pattern < 0.9:
        local = f + l
    else:
        local = f
    return local + "@" + domain


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.companies = []
        self.domains = set()             # company domains taken
        self.emails = set()              # one address, one person
        self.leads = []                  # (person, company, row) in arrival order

    # Companies -------------------------------------------------------------------------

    def new_company(self):
        rng = self.rng
        country = rng.choices(COUNTRY_CODES, weights=COUNTRY_WEIGHTS)[0]
        region, _, _, locale, tld, postal_fn = COUNTRIES[country]
        name, base, implied = company_name(rng, country, locale)
        domain = base + "." + tld
        n = 2
        while domain in self.domains:    # two "Summit Analytics": the second has a suffix
            domain = base + str(n) + "." + tld
            n += 1
        self.domains.add(domain)
        postal = postal_fn(rng)
        if region == "NA" and rng.random() < 0.02:
            postal = ""                  # never asked for on the short form
        industry = implied or pick(rng, INDUSTRIES)
        employees = employees_for(rng) if rng.random() > 0.03 else None
        if rng.random() < 0.012:
            region = ""                  # the CRM has no region mapping for the country yet
        company = Company(name, domain, country, region, postal, industry, employees)
        self.companies.append(company)
        return company

    def named_account(self, name, domain, country, region, postal, industry, employees):
        company = Company(name, domain, country, region, postal, industry, employees)
        self.domains.add(domain)
        self.companies.append(company)
        return company

    # People ------------------------------------------------------------------------------

    def new_person(self, company, title=None, domain=None):
        rng = self.rng
        locale = COUNTRIES[company.country][3] if company.country in COUNTRIES else "en"
        first = rng.choice(FIRST.get(locale, FIRST["en"]))
        last = rng.choice(LAST.get(locale, LAST["en"]))
        email = email_for(rng, first, last, domain or company.domain)
        while email in self.emails:      # another Laura Weber: laura.weber7@
            email = email_for(rng, first, last + str(rng.randint(2, 99)), domain or company.domain)
        self.emails.add(email)
        if title is None:
            local_titles = LOCAL_TITLES.get(locale)
            if local_titles and rng.random() < 0.2:
                title = rng.choice(local_titles)
            else:
                title = rng.choice(TITLES)
        language = language_for(rng, company.country, company.postal)
        person = Person(first, last, email, title, language)
        company.contacts.append(person)
        return person

    # Lead details ------------------------------------------------------------------------

    def lead_details(self, company, source):
        rng = self.rng
        means = {"web": 55, "event": 52, "outbound": 45, "partner": 60, "referral": 68}
        score = rng.gauss(means[source], 17)
        if company.employees and 200 <= company.employees < 5000:
            score += 8                   # fits the ideal customer profile
        score = min(100, max(1, score))
        if rng.random() < 0.01:
            score_text = "%.1f" % (round(score * 2) / 2)   # the scoring tool's half points
        elif source == "outbound" and rng.random() < 0.05:
            score_text = ""              # not scored yet
        else:
            score_text = str(int(round(score)))

        k = rng.choices([0, 1, 2, 3], weights=[8, 50, 30, 12])[0]
        pool = list(PRODUCTS)
        weights = [4, 2, 3, 2, 1, 1]
        if company.industry in ("fintech", "banking", "insurance"):
            weights = [2, 1, 2, 1, 5, 4]
        products = []
        for _ in range(k):
            item = rng.choices(pool, weights=weights)[0]
            i = pool.index(item)
            del pool[i]
            del weights[i]
            products.append(item)
        sep = "; " if rng.random() < 0.7 else ";"
        products_text = sep.join(products)

        deal = ""
        if company.employees and rng.random() > 0.12:
            # seats: a department in a big company, most of the staff in a small one
            share = rng.uniform(0.03, 0.15) if company.employees >= 200 else rng.uniform(0.1, 0.6)
            if 200 <= company.employees < 1000 and rng.random() < 0.08:
                share = rng.uniform(0.5, 1.0)    # a company-wide rollout: a six-figure deal
            seats = max(3, min(2000, company.employees * share))
            price = 400 * (1 + 0.3 * max(0, len(products) - 1))
            deal = str(int(round(seats * price, -2)))
            if rng.random() < 0.02:
                deal = "%.2f" % (float(deal) + 0.5)       # exported with cents
        return score_text, products_text, deal

    # Leads -------------------------------------------------------------------------------

    def add(self, person, company, source, override=None):
        score, products, deal = self.lead_details(company, source)
        row = {
            "company": company.name,
            "email": person.email,
            "email_domain": person.email.rsplit("@", 1)[1].lower() if person.email else "",
            "title": person.title,
            "country": company.country,
            "postal": company.postal,
            "region": company.region,
            "industry": company.industry,
            "employees": "" if company.employees is None else str(company.employees),
            "score": score,
            "language": person.language,
            "products:set": products,
            "source": source,
            "deal_value": deal,
        }
        row.update(override or {})
        self.leads.append((person, company, row))

    def generate(self, count):
        rng = self.rng
        hanse = self.named_account("Hanse Logistik AG", "hanse-logistik.de", "DE", "EMEA", "20457",
                                   "logistics", 8400)
        bluefin = self.named_account("Bluefin Bank, N.A.", "bluefinbank.com", "US", "NA", "10005",
                                     "banking", 12000)
        # Special leads, one maker per lead, spread over the week at random positions;
        # their numbers are for 5,000 leads and scale with --count.
        specials = []
        for maker, n in ((self.make_named(hanse), 14), (self.make_named(bluefin), 11),
                         (self.make_junk, 9), (self.make_competitor, 6), (self.make_embargoed, 8),
                         (self.make_student, 55), (self.make_no_geo, 18), (self.make_badge_scan, 4),
                         (self.make_awkward, 12)):
            specials += [maker] * max(1, round(n * count / COUNT))
        specials = specials[:count]
        slots = rng.sample(range(count), len(specials))
        special_at = dict(zip(slots, specials))

        for i in range(count):
            if i in special_at:
                special_at[i]()
            elif self.leads and rng.random() < 0.04:
                self.make_resubmission()
            elif rng.random() < 0.035:
                self.make_freemail()
            elif len(self.companies) > 50 and rng.random() < 0.15:
                self.make_colleague()
            else:
                company = self.new_company()
                self.add(self.new_person(company), company, pick(rng, SOURCES))
        return self.leads

    def make_named(self, company):
        def make():
            rng = self.rng
            if company.contacts and rng.random() < 0.45:
                person = rng.choice(company.contacts)
            else:
                person = self.new_person(company)
            # named accounts buy direct: never partner-sourced
            self.add(person, company, pick(rng, [s for s in SOURCES if s[0] != "partner"]))
        return make

    def make_resubmission(self):
        """The same person again: a second form, a webinar sign-up, a badge scan."""
        rng = self.rng
        person, company, _ = rng.choice(self.leads)
        if not person.email:
            return self.make_colleague()
        self.add(person, company, pick(rng, SOURCES))

    def make_colleague(self):
        """Someone else from a company already in the file: the account owner's lead."""
        rng = self.rng
        candidates = [c for c in rng.sample(self.companies, 6)
                      if c.employees and c.domain not in FREEMAIL and c.domain not in UNIVERSITIES]
        if not candidates:
            company = self.new_company()
        else:
            # bigger companies have more people who find us
            company = max(candidates, key=lambda c: c.employees * rng.random())
        self.add(self.new_person(company), company, pick(rng, SOURCES))

    def make_freemail(self):
        rng = self.rng
        company = self.new_company()
        if rng.random() < 0.5:
            company.employees = None if rng.random() < 0.6 else rng.randint(1, 15)
        if rng.random() < 0.3:
            company.name = ""           # left the company field empty
        domain = rng.choice(FREEMAIL)
        self.domains.discard(company.domain)
        company.domain = domain
        person = self.new_person(company, domain=domain)
        source = pick(rng, [("web", 70), ("event", 20), ("referral", 5), ("partner", 5)])
        self.add(person, company, source)

    def make_student(self):
        rng = self.rng
        company = self.new_company()
        company.industry = "education"
        company.employees = None
        domain = rng.choice(UNIVERSITIES + ["gmail.com"])
        company.name = rng.choice(["", "University", company.name])
        person = self.new_person(company, title=rng.choice(STUDENT_TITLES), domain=domain)
        self.add(person, company, pick(rng, [("web", 85), ("event", 15)]))

    def make_junk(self):
        rng = self.rng
        company = self.new_company()
        name, email = rng.choice([("Test", "test@example.com"), ("asdf", "asdf@test.com"),
                                  ("Mickey Mouse Inc", "mickey@example.com"),
                                  ("", "x7q2@mailinator.com")])
        person = Person("Test", "Test", email, "Test", "en")
        self.add(person, company, "web", {"company": name, "email_domain": email.split("@")[1]})

    def make_competitor(self):
        rng = self.rng
        name, domain = rng.choice([("Pipewise", "pipewise.io"), ("Routerly", "routerly.com"),
                                   ("LeadLoop AI", "leadloop.ai")])
        company = Company(name, domain, "US", "NA", "94105", "software", 240)
        self.add(self.new_person(company), company, "web")

    def make_embargoed(self):
        rng = self.rng
        country, language = rng.choice([("RU", "ru"), ("RU", "en"), ("RU", "ru"), ("BY", "ru"),
                                         ("IR", "en")])
        locale_name = {"RU": ("Volga Systems", "volga-systems.ru"),
                       "BY": ("Minsk Data", "minskdata.by"),
                       "IR": ("Persia Trading", "persiatrading.ir")}[country]
        company = Company(locale_name[0] + " " + LEGAL[country][0], locale_name[1], country, "EMEA",
                          digits(rng, 6), "manufacturing", rng.randint(50, 3000))
        email = rng.choice(["ivan", "olga", "sergei"]) + "@" + locale_name[1]
        person = Person("", "", email, "CEO", language)
        self.add(person, company, pick(rng, [("web", 80), ("event", 20)]))

    def make_no_geo(self):
        """Chat leads: only an email address and what the visitor typed."""
        company = self.new_company()
        company.country = ""
        company.region = ""
        company.postal = ""
        self.add(self.new_person(company), company, "web")

    def make_badge_scan(self):
        """Booth scans whose badge had no email: valid rows, but nothing to dedupe on."""
        rng = self.rng
        company = self.new_company()
        first = rng.choice(FIRST["en"])
        person = Person(first, rng.choice(LAST["en"]), "", rng.choice(TITLES), "en")
        self.add(person, company, "event", {"email_domain": ""})

    def make_awkward(self):
        """Valid rows that trip naive CSV readers: quotes, padding, upper case."""
        rng = self.rng
        company = self.new_company()
        person = self.new_person(company)
        kind = rng.randrange(4)
        if kind == 0:
            self.add(person, company, "web", {"company": 'The "Blue Door" ' + company.name})
        elif kind == 1:
            self.add(person, company, "web", {"country": " " + company.country.lower() + " ",
                                              "language": person.language.upper()})
        elif kind == 2:
            self.add(person, company, "web", {"company": rng.choice(BRAND) + " Holdings, Inc.",
                                              "title": "Director, Operations & IT"})
        else:
            self.add(person, company, "referral", {"employees": " %d " % (company.employees or 40)})


def timestamps(rng, count):
    """Arrival times over the week: weekdays busier than the weekend, working hours
    (Europe in the morning UTC, the Americas in the afternoon) busier than the night."""
    hour_weights = [2, 2, 2, 3, 4, 5, 7, 9, 10, 10, 9, 8, 9, 11, 13, 14, 13, 11, 9, 7, 5, 4, 3, 2]
    times = []
    for _ in range(count):
        day = rng.choices(range(WINDOW_DAYS), weights=[10, 10, 10, 9, 2.5, 2, 10])[0]
        hour = rng.choices(range(24), weights=hour_weights)[0]
        second = rng.randrange(3600)
        times.append(WINDOW_START + datetime.timedelta(days=day, hours=hour, seconds=second))
    times.sort()
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]


def build(seed, count):
    gen = Generator(seed)
    leads = gen.generate(count)
    times = timestamps(gen.rng, len(leads))
    rows = []
    for n, ((_, _, row), at) in enumerate(zip(leads, times)):
        out = dict(row)
        out["id"] = "L-%05d" % (10001 + n)
        out["captured_at"] = at
        rows.append(out)
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Write the demo's sample leads as CSV.")
    parser.add_argument("--out", default=os.path.join(here, "leads.csv"),
                        help="output file, '-' for stdout (default: leads.csv next to this script)")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (default %(default)s)")
    parser.add_argument("--count", type=int, default=COUNT, help="number of leads (default %(default)s)")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    rows = build(args.seed, args.count)
    if args.out == "-":
        out = sys.stdout
    else:
        out = open(args.out, "w", encoding="utf-8", newline="")
    try:
        writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
