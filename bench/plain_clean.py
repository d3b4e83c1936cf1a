"""The baseline: a plain Python script applying the original cleaning rules (docs/background.md) to an
X archive's tweets.js, the way a hand-rolled script would: stdlib json, no store, one output file.

    python bench/plain_clean.py archive.zip out.txt
"""

import json
import re
import sys
import zipfile


def main(path: str, out: str) -> None:
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if re.search(r"data/tweets(-part\d+)?\.js$", n))
        tweets = []
        for n in names:
            text = z.read(n).decode("utf-8")
            tweets += json.loads(text[text.index("=") + 1:])
    kept, retweets, short = [], 0, 0
    for item in tweets:
        t = item["tweet"]["full_text"]
        if t.startswith("RT @"):
            retweets += 1
            continue
        if len([w for w in t.split() if all(b not in w.lower() for b in ("http", "@", "#"))]) < 3:
            short += 1
            continue
        t = t.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        t = re.sub(r"http\S+", "", t)
        t = re.sub(r"\s+", " ", t).strip()
        kept.append(t)
    with open(out, "w") as f:
        for t in kept:
            f.write(json.dumps({"text": t}) + "\n")
    print(f"downloaded={len(tweets)} retweets={retweets} short={short} kept={len(kept)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
