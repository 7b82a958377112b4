"""Phone numbers and Google libphonenumber's verdict on them, for phone_oracle.rs.

Prints one JSON object per line: {"input", "region", "e164", "cc", "trunk"}. "e164" is
libphonenumber's answer: parse(input, region), then is_valid_number -> format E164, else null.
"cc" is that number's country code and "trunk" the national (trunk) prefix of its region (""
when it has none), so the test can check which digits were dropped.

The numbers are libphonenumber's own example numbers (several types, every region), a variation
of each (other trailing digits, a digit more or less), and the numbers users reported: German
mobiles and Russian/Belarusian 800 numbers. Each is written in international, national and messy
forms (separators, parentheses, 00/011 prefixes); four of those spellings are picked at random,
each with no default region, with its own region, and with US or a random other region. The seed
is fixed, so every run tests the same cases.
"""

import json
import random
import re
import sys

# The metadata version of the phonenumber crate (0.3.10+9.0.33 in Cargo.lock): with other
# metadata, numbers whose ranges changed in between would differ for that reason alone.
METADATA = "9.0.33"
INSTALL = f"python3 -m pip install phonenumbers=={METADATA} (or run scripts/setup.sh test)"

try:
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat
    from phonenumbers import PhoneNumberType as T
except ImportError:
    sys.exit(f"phone_oracle.py needs Google's libphonenumber for Python: {INSTALL}")
if phonenumbers.__version__ != METADATA:
    sys.exit(f"phone_oracle.py needs phonenumbers {METADATA}, not {phonenumbers.__version__}: {INSTALL}")

TYPES = [T.MOBILE, T.FIXED_LINE, T.TOLL_FREE, T.PREMIUM_RATE, T.SHARED_COST, T.VOIP, T.UAN]
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)

# What users reported: +49 mobiles lost the "1" after the country code with region US, and
# Russian/Belarusian 800 numbers lost their leading "8".
REPORTED = [
    ("+49 172 6919312", ["US", "DE", "CA", None]),
    ("+49 151 12345678", ["US", "DE", "CA", None]),
    ("+49 160 1234567", ["US", "DE", None]),
    ("+49 176 12345678", ["US", "DE", None]),
    ("0172 6919312", ["DE"]),
    ("0049 172 6919312", ["DE", "AT", "FR"]),
    ("011 49 172 6919312", ["US", "CA"]),
    ("+7 800 555 35 35", ["US", "RU", "BY", "DE", None]),
    ("8 800 555 35 35", ["RU", "BY", "KZ"]),
    ("8 (800) 555-35-35", ["RU"]),
    ("+375 800 123 45 67", ["US", "RU", "BY", None]),
    ("8 800 123 45 67", ["BY"]),
    ("+375 801 123 4567", ["US", "BY", None]),
    ("8 801 123 4567", ["BY"]),
]

rng = random.Random(20251129)


def verdict(text, region):
    """libphonenumber's E.164 form of `text`, its country code and trunk prefix, or None."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return {
        "e164": phonenumbers.format_number(number, PhoneNumberFormat.E164),
        "cc": str(number.country_code),
        "trunk": trunk_prefix(number),
    }


def trunk_prefix(number):
    """The national (trunk) prefix of `number`'s region, "" when it has none."""
    region = phonenumbers.region_code_for_number(number)
    meta = PhoneMetadata.metadata_for_region(region) if region else None
    return (meta.national_prefix or "") if meta else ""


def messy(digits):
    """`digits` regrouped with random separators, the first group sometimes in parentheses."""
    groups, rest = [], digits
    while rest:
        size = rng.randint(2, 4)
        groups.append(rest[:size])
        rest = rest[size:]
    if len(groups) > 1 and rng.random() < 0.4:
        groups[0] = "(" + groups[0] + ")"
    sep = rng.choice([" ", "-", ".", "/", " - ", ""])
    return sep.join(groups)


def spellings(number):
    """The ways people write `number`: international, national, and messy forms of both."""
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    national_digits = re.sub(r"\D", "", national)
    trunk = trunk_prefix(number)
    forms = {
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        national,
        national_digits,
        messy(national_digits),
        "+" + cc + " " + messy(nsn),
        "+" + cc + "." + messy(nsn).replace(" ", "."),
        "00" + cc + " " + messy(nsn),
        "00 " + cc + " " + messy(nsn),
        "011 " + cc + " " + messy(nsn),
        "011" + cc + messy(nsn),
        "  " + national + "\t",
    }
    if trunk:
        forms.add("+" + cc + " (" + trunk + ")" + messy(nsn))
        forms.add(trunk + " " + messy(nsn))
    return forms


def variation(number):
    """`number` with other trailing digits, or one digit less, or one digit more."""
    nsn = phonenumbers.national_significant_number(number)
    tail = "".join(rng.choice("0123456789") for _ in range(min(3, len(nsn) - 2)))
    other = rng.choice([nsn[: len(nsn) - len(tail)] + tail, nsn[:-1], nsn + tail[:1]])
    try:
        return [phonenumbers.parse("+" + str(number.country_code) + other, None)]
    except NumberParseException:
        return []


def cases():
    """(input, default region) pairs: every spelling of every number with several regions."""
    for text, regions in REPORTED:
        for region in regions:
            yield text, region
    for region in REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for number in [example, *variation(example)]:
                for text in rng.sample(sorted(spellings(number)), 4):
                    for default in (None, region, rng.choice(["US", rng.choice(REGIONS)])):
                        yield text, default


def main():
    seen = set()
    for text, region in cases():
        if (text, region) in seen:
            continue
        seen.add((text, region))
        answer = verdict(text, region) or {"e164": None, "cc": None, "trunk": None}
        print(json.dumps({"input": text, "region": region, **answer}, ensure_ascii=False))


if __name__ == "__main__":
    main()
