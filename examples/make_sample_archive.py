#!/usr/bin/env python3
"""Write an X/Twitter archive of a fictional account, in the format X exports today.

Ada Penhallow (@tollan_keeper) keeps the (invented) Tollan Head lighthouse and watches the sky from
its gallery with a small brass refractor. Every post is written here from templates and word lists;
none is a real person's. The archive has what real ones have: ``data/manifest.js``, ``account.js``,
``profile.js`` with the avatar under ``profile_media/``, ``tweets.js`` split into ``tweets-part1.js``,
long posts cut in ``tweets.js`` with their full text in ``note-tweet.js``, an edited post (two
versions), ``deleted-tweets.js``, retweets, replies, self-reply threads, a quote post, t.co links,
media links, HTML entities, short posts and exact duplicates.

    python examples/make_sample_archive.py                     # examples/sample-archive.zip
    python examples/make_sample_archive.py --posts 200000 -o /tmp/big-archive.zip

The output depends only on ``--posts`` and ``--seed``: zip timestamps are fixed, so regenerating gives
identical bytes.
"""

from __future__ import annotations

import argparse
import html
import random
import struct
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

HANDLE = "tollan_keeper"
NAME = "Ada Penhallow"
ACCOUNT_ID = "1102938475610293847"
EPOCH_MS = 1288834974657  # X's snowflake epoch: ids grow with time, as real ones do
FIRST_DAY = datetime(2019, 3, 4, 6, 0, tzinfo=timezone.utc)
LAST_DAY = datetime(2024, 9, 28, 22, 0, tzinfo=timezone.utc)
NOTES_FROM = datetime(2023, 3, 1, tzinfo=timezone.utc)  # long posts exist since 2023
EDITS_FROM = datetime(2022, 10, 1, tzinfo=timezone.utc)
ZIP_TIME = (2024, 10, 1, 9, 30, 0)
SOURCE = '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>'
SOURCE_PHONE = '<a href="http://twitter.com/download/android" rel="nofollow">Twitter for Android</a>'

OTHERS = {  # fictional accounts she talks to: screen name -> (user id, display name)
    "skipper_morwenna": ("2203948571", "Morwenna Trask"),
    "orrery_club": ("3390485721", "The Orrery Club"),
    "petrel_counts": ("4410293856", "Jo Ferrier | seabirds"),
    "harbour_lenn": ("1620394857", "Lenn at the Harbour"),
    "brynmor_skies": ("5502938471", "Bryn Morgan"),
    "tidetables_tom": ("7718293045", "Tom Quayle"),
    "lensgrinder_ike": ("8829304756", "Ike Halvorsen"),
    "nightfall_optics": ("9940318275", "Nightfall Optics"),
}

# -- word lists ---------------------------------------------------------------------------------

DIRS = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
TRENDS = ["falling", "falling fast", "steady", "rising", "rising slowly", "all over the place"]
SEAS = ["slight", "moderate", "rough", "very rough", "glassy", "confused, slopping in from two sides",
        "heavy, green water over the landing"]
VIS = ["good", "moderate", "poor in drizzle", "nil in fog", "excellent, Carrick light plain as day"]
LAMP = [
    "Lens polished and the brass wiped down",
    "Lamp checked at {hm}, all well",
    "Clockwork wound twice, the weights were sluggish",
    "Fog signal tested and it groaned like an old cow",
    "Replaced a cracked pane in the lantern room",
    "Logged three ships heading north and one very lost yacht",
    "Mantle changed, the old one crumbled like a moth",
    "Checked the standby generator; it started on the second pull",
    "Oiled the pedestal bearings",
    "Trimmed the curtains in the lantern so the sun cannot cook the prisms",
    "Cleaned salt off the gallery rails",
    "Sounded the horn for forty minutes while the fog sat on us",
]
CODAS = [
    "The gulls are sulking in the lee of the store.",
    "Tea & toast at the top of the tower.",
    "Steady as she goes.",
    "Noted in the log.",
    "Bosun supervised from the windowsill.",
    "Nothing on the radio but static and a fisherman singing.",
    "The kettle is the only warm thing on this rock.",
    "Back to bed, or back to the eyepiece, depending on the clouds.",
    "Everything creaks, nothing breaks.",
    "My knees are older than the lamp tonight.",
    "A good night to be indoors and a better one to be the light.",
    "If you were out there tonight, I hope you saw us.",
    "Spray reaching the gallery, so the windows will want another wash.",
    "Seals hauled out on the lower ledge, complaining loudly.",
    "The wind sings through the lightning conductor like a kettle.",
]
OPENINGS = [
    "Clear for once.",
    "The cloud tore open around midnight.",
    "Twenty minutes of sky between squalls.",
    "Stayed up past the second watch.",
    "Seeing was wobbly but the transparency was glorious.",
    "Carried the little brass refractor out onto the gallery.",
    "No moon, no wind, no excuse.",
    "Frost on the gallery rail and not a cloud anywhere.",
    "Up at 0300 to catch it before the dawn ate it.",
    "The beam sweeps past every ten seconds, so I observe in ten-second slices.",
]
SKY = [
    ("Jupiter", "Jupiter and three of its moons in a neat row, the fourth hiding behind the planet"),
    ("Jupiter", "Jupiter showing both belts and, for a moment, the Great Red Spot like a thumbprint"),
    ("Saturn", "Saturn with its rings tilted like a hat brim, and Titan sitting off to one side"),
    ("Moon", "the terminator running straight through Copernicus, every terrace of the crater lit"),
    ("Moon", "a thin crescent Moon with earthshine, the old Moon in the new Moon's arms"),
    ("Orion", "the Orion Nebula, a grey-green smudge that turns into wings if you wait"),
    ("Pleiades", "the Pleiades, far too big for the eyepiece, so I just used my eyes"),
    ("Andromeda", "the Andromeda galaxy, two and a half million years of light landing on a cold rock"),
    ("Perseids", "the Perseids: {n} meteors in an hour, two of them bright enough to cast a shadow"),
    ("aurora", "a faint aurora to the north, a green curtain that came and went"),
    ("ISS", "the space station sliding over the tower, brighter than our own lamp for a few seconds"),
    ("Venus", "Venus as a tiny half moon low in the west, boiling in the bad air"),
    ("Mars", "Mars, orange and small, one polar cap glinting if I did not blink"),
    ("Milky Way", "the Milky Way from horizon to horizon, the dark lanes sharp as ink"),
    ("comet", "the comet, a soft fan of a tail pointing away from the sun as comets always do"),
    ("Albireo", "Albireo, the gold and blue double, the prettiest pair in the summer sky"),
    ("Mizar", "Mizar split cleanly into two, with Alcor keeping its distance"),
]
FEELINGS = [
    "Worth every cold finger.",
    "Bosun was unimpressed.",
    "I forget to breathe, every time.",
    "Scribbled a sketch in the log between lamp checks.",
    "The lamp and the planets kept each other company.",
    "Some nights the job pays in light.",
    "My tea went cold and I did not care.",
    "Forty years of looking up and it still gets me.",
    "Told the gulls. They did not care either.",
    "I will be useless tomorrow and it was worth it.",
]
CAT = [
    "Bosun caught a mouse in the oil store and brought it to me at {hm}, alive, as a gift.",
    "Bosun has decided the warm spot beside the lamp is his watch station. He is not wrong.",
    "Bosun sat in the logbook again. Half of tonight's entries are now under a cat.",
    "Bosun sneezed at the fog signal. The fog signal did not sneeze back.",
    "Bosun refuses the stairs in a gale. Cannot blame him, there are {n} of them.",
    "Bosun watched the relief boat come in like a customs officer who takes bribes in sardines.",
    "Bosun found the one patch of sun on the whole island and will not share it.",
    "Bosun climbed into the empty paraffin box and now considers it a ship.",
]
BIRDS = ["kittiwakes", "gannets", "puffins", "fulmars", "shags", "oystercatchers", "storm petrels",
         "guillemots", "razorbills", "turnstones"]
BIRD_LINES = [
    "Counted {n} {bird} on the north ledge this morning. Sent the tally to @petrel_counts.",
    "The {bird} are back. {n} of them, all shouting, all certain it is their rock.",
    "A single gannet diving off the point, folding itself into a dart every few minutes.",
    "First puffins of the year bobbing off the landing, looking like they have been told a secret.",
    "{n} {bird} riding out the gale in the lee of the tower. Sensible birds.",
    "Storm petrels flitting around the lantern at night, little black moths of the sea.",
]
BOAT = [
    "Relief boat came in at {hm} with the post, the paraffin and {cargo}.",
    "Relief boat cancelled again, swell too big for the landing. Rationing the biscuits.",
    "@skipper_morwenna got the boat alongside in a sea I would not have tried. Brought {cargo}.",
    "Boat day! {cargo}, two newspapers a week old and a letter from my sister.",
    "Relief boat late, so I read the tide tables for fun. They are thrilling if you squint.",
]
CARGO = ["a sack of potatoes", "fresh bread", "a new mantle", "three books from the library",
         "a spare eyepiece", "oranges", "a crate of tinned peaches", "batteries for the radio",
         "a box of candles", "a replacement hinge for the store door"]
MUSINGS = [
    "People ask if it gets lonely out here. The lamp goes round, the ships go by, and every one of them is company.",
    "A lighthouse is a very slow clock. It keeps time in nights, not hours.",
    "The sea does not care about you, which is oddly restful once you accept it.",
    "Every ship that passes at night trusts a light it will never see close up. I think about that a lot.",
    "The best observing is done tired, cold and slightly annoyed at the clouds.",
    "I have kept this light through {n} winters and the stairs have not got any shorter.",
    "There is a kind of quiet you only get at 0400 with the lamp turning overhead.",
    "The old keepers wrote the weather in the log every four hours. I still do. It is a conversation with them.",
    "You learn the sky by looking at the same patch of it a thousand times.",
    "Wind is just the sky moving house.",
    "Somebody asked what I do all night. Mostly I listen: to the horn, the sea, the lamp, the radio.",
    "Starlight and lamplight are the same stuff, one of them just travelled further.",
    "I like that the lamp does not know it is beautiful. It just turns.",
    "On a clear night the horizon is a line of ship lights, a necklace somebody keeps restringing.",
    "Sometimes I think the gulls run this island and I am the staff.",
    "Most of keeping a light is cleaning things that will be dirty again tomorrow. That is fine.",
]
REPLIES = [
    "Thank you! The lens is older than both of us put together.",
    "Ha, yes. The kettle is the real lighthouse.",
    "Not tonight, cloud from the west. Maybe tomorrow if the forecast behaves.",
    "It was the brass refractor, nothing fancy. Patience does most of the work.",
    "Same here, the swell kept me up too.",
    "You are very kind. Bosun says hello and demands sardines.",
    "Good question! The beam is one flash every ten seconds, so ships know which light we are.",
    "That is exactly the one. Look a little below the belt and wait for your eyes to adjust.",
    "I counted fewer this year, but the ledge was half under spray. Will try again Sunday.",
    "Oh that is lovely. Send me the photo when you have it.",
    "Morwenna says the tide will be right at six, so six it is.",
    "We had hail like marbles here. The gallery sounded like a drum.",
    "Absolutely. Red sky at night and all that, though the barometer disagrees.",
    "No, the lamp is electric now. I just keep the old paraffin one for emergencies and nostalgia.",
]
RT_TEXTS = [
    ("orrery_club", "Club night moved to Thursday: bring a torch with a red filter and something warm to drink."),
    ("skipper_morwenna", "Boats running again from tomorrow, weather permitting. Thanks for your patience, all."),
    ("petrel_counts", "Seabird count volunteers needed for the spring survey, no experience needed, just binoculars & patience."),
    ("brynmor_skies", "Tonight's aurora forecast is looking promising for northern coasts, get away from the street lights."),
    ("harbour_lenn", "Gale warning for all sea areas tonight. Check your moorings, folks."),
    ("tidetables_tom", "Spring tides this weekend: the lowest of the year on Sunday morning. Good rock-pooling."),
    ("nightfall_optics", "Winter eyepiece sale starts now: 20% off everything that fits a 1.25 inch focuser."),
    ("lensgrinder_ike", "Finished grinding my first six-inch mirror. Three months, two chipped edges, one very happy man."),
]
SHORT = ["Fog.", "Lamp lit.", "Gale.", "Morning.", "Tea.", "Still foggy.", "Clear!", "Brrr.", "Boat day."]
DUPLICATE = "Lamp lit, kettle on, Bosun asleep on the logbook. All is well on the rock."
THREADS = [
    [
        "How the Tollan Head lens works, a short thread for the people who asked. 1/4",
        "The lamp itself is small. The magic is the lens: rings of glass prisms that bend all the light into one flat beam. 2/4",
        "The whole lens turns on a bed of bearings, so the beam sweeps round like a clock hand. Once every ten seconds here. 3/4",
        "Ships count the seconds between flashes, look it up in the light list and know exactly which headland they are off. 4/4",
    ],
    [
        "A few things I have learned about observing from a lighthouse gallery. 1/3",
        "Face away from the beam. Your eyes need twenty minutes to adapt and the lamp will undo it in one sweep. 2/3",
        "Wear two hats. It is always colder up there than you think, and the wind finds every gap. 3/3",
    ],
    [
        "Storm log, because people asked how the night went. 1/3",
        "0100 the spray reached the lantern, fifty metres up. 0230 the power dropped and the generator took over without a fuss. 2/3",
        "By 0500 the wind eased, and the first thing I saw at dawn was a gannet fishing as if nothing had happened. 3/3",
    ],
]
LONG_POSTS = [
    "People keep asking what a night on the rock is actually like, so here is one, start to finish. "
    "Lamp lit at sunset, 1912. Weather in the log: wind west-south-west force 5, barometer 1011 and steady, "
    "sea moderate, visibility good. Kettle on. Bosun fed. At 2100 I go up and check the lens, wipe the "
    "salt off the gallery windows and stand for a minute watching the beam swing over the water. At 2200 "
    "the radio schedule: the coastguard reads the forecast and I write it down by hand, because the old "
    "keepers did and because writing it makes me listen. Midnight, the sky clears, so out comes the brass "
    "refractor and I spend an hour on Jupiter between lamp checks. 0400 the weather again. 0600 dawn, "
    "lamp out, log closed, bed. That is it. It is the best job I have ever had.",
    "A long one about the lens, because it deserves it. The lens at Tollan Head was made in 1894 and "
    "shipped out in crates packed with straw. It weighs about as much as a small car and floats on a bed "
    "of bearings so that one person can turn it with a finger. It is made of hundreds of prisms, each "
    "ground by hand, each set at the angle that sends the light it catches out flat towards the horizon. "
    "When the sun comes in through the lantern in the afternoon, the lens can focus it like a burning "
    "glass, which is why we hang curtains in the day. I clean it every morning with a soft cloth and "
    "spirit. In thirty years I have never once got bored of it.",
    "I have been asked for beginner's advice on looking at the sky, so here is everything I would tell "
    "myself at twelve. First, your eyes are the best instrument you own: learn the constellations before "
    "you buy anything. Second, binoculars before a telescope. A pair of 10x50s will show you the moons of "
    "Jupiter, the Pleiades, the Andromeda galaxy and a thousand craters on the Moon. Third, get away from "
    "street lights and give your eyes twenty minutes in the dark. Fourth, write down what you see, even if "
    "it is only a line. The notes are how you learn. Fifth, dress as if you are going to stand still in "
    "the cold for two hours, because you are. And last, be patient. The sky has been there a long time.",
    "The storm last night was the worst since I came here, so a proper account for the record. The "
    "barometer fell twenty-two millibars in twelve hours. By ten the wind was a steady roar and the spray "
    "was reaching the lantern, which sits fifty metres above the sea. Just after one the mains power "
    "failed and the standby generator took over, exactly as it should. I spent most of the night on the "
    "stairs between the lamp and the radio, listening to the coastguard talk a fishing boat into the "
    "lee of the island. They made it. At dawn the sea was still white to the horizon, and there was a "
    "single gannet fishing off the point as if nothing at all had happened. Birds are tougher than us.",
    "On keeping a logbook. The light's log goes back to 1897 and every keeper has written the weather in "
    "it every four hours, through wars, storms, births and deaths on the mainland. Reading the old pages "
    "at night is like sitting with them. One keeper in 1911 wrote only the word 'fog' for six days "
    "running, then on the seventh, 'clear, saw a whale'. Another drew the Moon in the margin every full "
    "moon for a decade. I add my own notes: what the sky did, what the birds did, what Bosun did. Someone "
    "will read them one day and know that on this night, in this wind, the light was kept.",
    "Why I still do this by hand, a short essay nobody asked for. The lamp has been automatic for years. "
    "A sensor switches it on at dusk and off at dawn and a computer on the mainland would ring if it "
    "failed. I am here because automatic things fail quietly, because salt gets into everything, because "
    "a person on the rock notices the cracked pane and the sluggish bearing before they become a dark "
    "night. And because somebody has to look up. The sky does not have a sensor. You have to go out, in "
    "the cold, and look, and write it down. That part will never be automatic, and I am glad.",
]
EDIT_FIRST = "Saturn tonight through the brass refractor: rings wide open and Titan off to the left. Best view this yaer."
EDIT_FINAL = "Saturn tonight through the brass refractor: rings wide open and Titan off to the left. Best view this year."
QUOTE = "Morwenna has opinions about my knots. She is right, as usual."

SKY_TAGS = ["#astronomy", "#nightsky", "#astrophotography", "#keeperslog"]
SKY_EXTRA = [
    "Seeing {n10} out of 10.",
    "Magnification {mag}x, which is about all the old glass will take.",
    "Had to wait for a shower to pass first.",
    "The lamp's beam kept washing over the eyepiece.",
    "Frost formed on the tube before I was done.",
    "Logged it next to the weather.",
    "A fishing boat's deck lights were the only other lights for miles.",
]
SETTINGS = [
    "{hm}, lamp turning.", "Quiet watch.", "Fog again.", "Long night.", "Wind dropping at last.",
    "Half past nothing in the morning.", "Between lamp checks:", "Sunday on the rock.",
    "Rain on the lantern glass.", "Cold one.",
]
CAT_EXTRA = [
    "He is now asleep in my chair.", "I have been demoted to assistant keeper.",
    "We are not speaking.", "He regrets nothing.", "The log has paw prints on {n} pages now.",
    "Sardines were negotiated.", "He knows what he did.",
]
BIRD_EXTRA = [
    "Noisy lot.", "They were here before the lighthouse and will be here after it.",
    "One of them stared at me the whole time.", "Tally sent to @petrel_counts.",
    "Good numbers for the time of year.", "The gulls were outraged, as usual.",
]
BIRD_SETTINGS = ["{hm}.", "Morning round.", "From the gallery at {hm}:", "Low tide, {hm}.", "Seabird news:"]
CAT_SETTINGS = ["{hm}.", "Cat report.", "Update from the lantern room:", "Meanwhile, indoors:"]
LINK_TAILS = ["Took {h} evenings to write.", "{n} photos, sorry in advance.", "Comments welcome.",
              "Bosun proofread it.", "Short one this time.", "Written at {hm}, so forgive the typos."]
REPLY_OPENERS = ["Ha!", "Thank you!", "Oh yes.", "Good question.", "Agreed.", "Not quite.", "Oh, lovely.",
                 "Yes!", "Ah.", "Funny you should ask."]
LINK_LEADS = ["Wrote up", "New on the blog:", "Finally posted", "For anyone who asked,", "Long read:",
              "Here are"]
LINK_TOPICS = [
    ("last night's Jupiter session from the gallery", "log/jupiter-from-the-gallery"),
    ("a short history of the Tollan Head lens, with pictures of the brass", "history/the-lens"),
    ("how to read the weather from a lighthouse logbook", "log/reading-the-log"),
    ("what a keeper actually eats in a month", "log/the-pantry"),
    ("my notes on splitting double stars with a small refractor", "sky/double-stars"),
    ("the seabird tally for the year, thank you to everyone who sent sightings", "birds/tally"),
    ("photos from the storm, taken from behind very thick glass", "log/the-january-storm"),
    ("the Perseids count, hour by hour", "sky/perseids"),
    ("a guide to the lights you can see from our gallery on a clear night", "log/neighbours"),
]
ENTITY_TEMPLATES = [
    "Barometer < {p} and still dropping. Shutters closed, kettle on.",
    "Wind > {kn} knots on the gauge before it gave up. The gauge, not me.",
    "Tea & toast & {object}. A perfect {hm}.",
    "Lamp <3 Moon. They take turns lighting the water, {n} nights out of 30.",
    "Fog & drizzle & a horn that has sounded for {h} hours. Earplugs for Bosun, none for me.",
    "{object} > anything on television, and the signal is terrible anyway.",
]
OBJECTS = ["the Pleiades", "Jupiter", "Orion", "the Moon", "Saturn", "the Milky Way", "Andromeda"]

# -- building tweet objects ---------------------------------------------------------------------

_TCO_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Writer:
    """Builds tweet objects with consistent ids, dates and entities."""

    def __init__(self, rng: random.Random, n_posts: int):
        self.rng = rng
        span = (LAST_DAY - FIRST_DAY).total_seconds()
        self.step = span / max(n_posts, 1)
        self.clock = FIRST_DAY
        self.seq = 0

    def tco(self) -> str:
        return "https://t.co/" + "".join(self.rng.choice(_TCO_CHARS) for _ in range(10))

    def tick(self, at_least: datetime | None = None) -> datetime:
        jitter = self.rng.uniform(0.2, 1.8) * self.step
        self.clock = max(self.clock + timedelta(seconds=jitter), at_least or self.clock)
        if self.clock.hour < 5 and self.rng.random() < 0.5:  # she posts through the night, less at dawn
            self.clock += timedelta(hours=1)
        return self.clock

    def snowflake(self, when: datetime) -> str:
        self.seq = (self.seq + 1) % 4096
        return str(((int(when.timestamp() * 1000) - EPOCH_MS) << 22) | (1 << 17) | self.seq)

    def tweet(self, text: str, when: datetime, *, urls=(), media=None, reply_to=None, tid=None,
              edit_ids=None, edit_initial=None) -> dict:
        """One archive tweet object; ``text`` is plain and gets X's HTML escaping in full_text."""
        tid = tid or self.snowflake(when)
        until = (when + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        edit: dict
        if edit_initial:
            edit = {"edit": {"initialTweetId": edit_initial, "editControlInitial": {
                "editTweetIds": edit_ids, "editableUntil": until, "editsRemaining": "4",
                "isEditEligible": True}}}
        else:
            edit = {"initial": {"editTweetIds": edit_ids or [tid], "editableUntil": until,
                                "editsRemaining": "5", "isEditEligible": reply_to is None}}
        ents: dict = {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
        for word_start, word in _words(text):
            if word.startswith("#") and len(word) > 1:
                tag = word[1:].rstrip(".,!:;")
                ents["hashtags"].append({"text": tag, "indices": [str(word_start), str(word_start + 1 + len(tag))]})
            elif word.startswith("@") and len(word) > 1:
                name = word[1:].rstrip(".,!:;")
                uid, display = OTHERS.get(name, (ACCOUNT_ID, NAME) if name == HANDLE else ("1", name))
                ents["user_mentions"].append({"name": display, "screen_name": name, "indices": [
                    str(word_start), str(word_start + 1 + len(name))], "id_str": uid, "id": uid})
        for short, target in urls:
            start = text.find(short)
            ents["urls"].append({"url": short, "expanded_url": target,
                                 "display_url": _display(target), "indices": [str(start), str(start + len(short))]})
        t: dict = {
            "edit_info": edit,
            "retweeted": False,
            "source": SOURCE if self.rng.random() < 0.6 else SOURCE_PHONE,
            "entities": ents,
            "display_text_range": ["0", str(len(text))],
            "favorite_count": str(int(self.rng.expovariate(0.2))),
            "id_str": tid,
            "truncated": False,
            "retweet_count": str(int(self.rng.expovariate(1.0))),
            "id": tid,
            "created_at": when.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "favorited": False,
            "full_text": html.escape(text, quote=False),
            "lang": "en",
        }
        if media:
            short = media
            start = text.find(short)
            t["display_text_range"] = ["0", str(start - 1)]
            item = {
                "expanded_url": f"https://twitter.com/{HANDLE}/status/{tid}/photo/1",
                "indices": [str(start), str(start + len(short))],
                "url": short,
                "media_url": f"http://pbs.twimg.com/media/{tid[-11:]}.jpg",
                "id_str": str(int(tid) - 7),
                "id": str(int(tid) - 7),
                "media_url_https": f"https://pbs.twimg.com/media/{tid[-11:]}.jpg",
                "sizes": {"thumb": {"w": "150", "h": "150", "resize": "crop"},
                          "large": {"w": "2048", "h": "1536", "resize": "fit"}},
                "type": "photo",
                "display_url": "pic.twitter.com/" + short.rsplit("/", 1)[-1],
            }
            ents["media"] = [item]
            t["extended_entities"] = {"media": [item]}
            t["possibly_sensitive"] = False
        if reply_to:
            status, user_id, screen_name = reply_to
            t.update({"in_reply_to_status_id_str": status, "in_reply_to_status_id": status,
                      "in_reply_to_user_id": user_id, "in_reply_to_user_id_str": user_id,
                      "in_reply_to_screen_name": screen_name})
        return t


def _words(text: str):
    pos = 0
    for word in text.split(" "):
        yield pos, word
        pos += len(word) + 1


def _display(url: str) -> str:
    bare = url.split("://", 1)[-1]
    return bare if len(bare) <= 26 else bare[:25] + "\u2026"


# -- the posts ------------------------------------------------------------------------------------


def _fill(rng: random.Random, template: str, when: datetime) -> str:
    return template.format(
        hm=f"{when.hour:02d}{when.minute:02d}", n=rng.randint(3, 140), n10=rng.randint(3, 9),
        bird=rng.choice(BIRDS), cargo=rng.choice(CARGO), mag=rng.choice((40, 60, 90, 120, 150)),
        p=rng.randint(960, 995), kn=rng.randint(45, 80), h=rng.randint(3, 30), object=rng.choice(OBJECTS))


def _maybe(rng: random.Random, p: float, options: list[str], when: datetime) -> str:
    return " " + _fill(rng, rng.choice(options), when) if rng.random() < p else ""


def _log_entry(rng, when) -> str:
    parts = [f"{when.hour:02d}{when.minute:02d}."]
    weather = [f"Wind {rng.choice(DIRS)}, force {rng.randint(2, 10)}",
               f"barometer {rng.randint(978, 1036)} and {rng.choice(TRENDS)}"]
    if rng.random() < 0.6:
        weather.append(f"sea {rng.choice(SEAS)}")
    if rng.random() < 0.4:
        weather.append(f"visibility {rng.choice(VIS)}")
    parts.append(", ".join(weather) + ".")
    if rng.random() < 0.8:
        parts.append(_fill(rng, rng.choice(LAMP), when) + ".")
    parts.append(rng.choice(CODAS))
    return " ".join(parts)


def _sky(rng, when) -> str:
    seen = _fill(rng, rng.choice(SKY)[1], when)
    text = f"{rng.choice(OPENINGS)} {seen[0].upper()}{seen[1:]}."
    text += _maybe(rng, 0.45, SKY_EXTRA, when) + _maybe(rng, 0.7, FEELINGS, when)
    return text + _maybe(rng, 0.25, SKY_TAGS, when)


def _musing(rng, when) -> str:
    picks = rng.sample(MUSINGS, rng.choice((1, 2, 2)))
    text = " ".join(_fill(rng, m, when) for m in picks)
    return _fill(rng, rng.choice(SETTINGS), when) + " " + text if rng.random() < 0.75 else text


def _prefixed(rng: random.Random, p: float, options: list[str], text: str, when: datetime) -> str:
    return _fill(rng, rng.choice(options), when) + " " + text if rng.random() < p else text


def _cat(rng, when) -> str:
    text = _fill(rng, rng.choice(CAT), when) + _maybe(rng, 0.9, CAT_EXTRA, when)
    return _prefixed(rng, 0.5, CAT_SETTINGS, text, when)


def _birds(rng, when) -> str:
    text = _fill(rng, rng.choice(BIRD_LINES), when) + _maybe(rng, 0.9, BIRD_EXTRA, when)
    text = _prefixed(rng, 0.6, BIRD_SETTINGS, text, when)
    return text + (" #seabirds" if rng.random() < 0.3 else "")


def _boat(rng, when) -> str:
    return _fill(rng, rng.choice(BOAT), when) + _maybe(rng, 0.8, CODAS, when)


def _entities(rng, when) -> str:
    return _fill(rng, rng.choice(ENTITY_TEMPLATES), when)


def _reply(rng, when) -> str:
    text = rng.choice(REPLY_OPENERS) + " " + rng.choice(REPLIES)
    return text + (" " + rng.choice(REPLIES) if rng.random() < 0.3 else "")


def _link_intro(rng, when) -> tuple[str, str]:
    lead = rng.choice(LINK_LEADS)
    topic, slug = rng.choice(LINK_TOPICS)
    return f"{lead} {topic}.{_maybe(rng, 0.8, LINK_TAILS, when)}", slug


def _log_thread(rng, when) -> list[str]:
    """Past the hand-written threads, a night's log told in three posts."""
    first = f"Tonight's watch as a thread, for the log. {_log_entry(rng, when)} 1/3"
    second = f"{_sky(rng, when)} 2/3"
    third = f"{_musing(rng, when)} 3/3"
    return [first, second, third]


ORIGINALS = [(_log_entry, 26), (_sky, 24), (_musing, 12), (_cat, 8), (_birds, 9), (_boat, 6), (_entities, 3)]
_ORIG_FUNCS = [f for f, _ in ORIGINALS]
_ORIG_WEIGHTS = [w for _, w in ORIGINALS]


def build_tweets(n_posts: int, seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(tweets oldest first, note-tweets, deleted tweets) for an archive of ``n_posts`` tweet objects."""
    rng = random.Random(seed)
    w = Writer(rng, n_posts)
    tweets: list[dict] = []
    notes: list[dict] = []
    others_status = iter(range(10**17, 10**18, 7919))

    # Fixed moments for the posts every archive must show once, spread over the years.
    specials = [(0.18, "quote"), (0.31, "duplicate"), (0.52, "duplicate"), (0.74, "duplicate"), (0.80, "edit"),
                *((0.83 + 0.03 * k, "long") for k in range(len(LONG_POSTS)))]  # notes exist from 2023
    thread_i = 0
    while len(tweets) < n_posts:
        i = len(tweets)
        when = w.tick()
        special = None
        if specials and i >= specials[0][0] * n_posts:
            special = specials.pop(0)[1]
        long_post = special == "long" or (when >= NOTES_FROM and rng.random() < 0.03)
        roll = rng.random()
        if special == "quote":
            status = str(next(others_status))
            link = w.tco()
            text = f"{QUOTE} {link}"
            tweets.append(w.tweet(text, when, urls=[(link, f"https://twitter.com/skipper_morwenna/status/{status}")]))
        elif special == "duplicate":
            tweets.append(w.tweet(DUPLICATE, when))
        elif special == "edit" and n_posts - i >= 2:
            when = max(when, EDITS_FROM)
            first = w.snowflake(when)
            later = when + timedelta(minutes=4)
            second = w.snowflake(later)
            ids = [first, second]
            tweets.append(w.tweet(EDIT_FIRST, when, tid=first, edit_ids=ids))
            tweets.append(w.tweet(EDIT_FINAL, later, tid=second, edit_ids=ids, edit_initial=first))
            w.clock = later
        elif long_post:
            full = _long_text(rng, len(notes))
            tid = w.snowflake(when)
            link = w.tco()
            cut = full[:270].rsplit(" ", 1)[0]
            t = w.tweet(f"{cut}\u2026 {link}", when, tid=tid,
                        urls=[(link, f"https://twitter.com/i/web/status/{tid}")])
            tweets.append(t)
            notes.append(_note(w, full, when))
        elif roll < 0.08:
            user, said = rng.choice(RT_TEXTS)
            text = f"RT @{user}: {said}"
            tweets.append(w.tweet(text, when))
        elif roll < 0.20:
            user = rng.choice(list(OTHERS))
            uid = OTHERS[user][0]
            text = f"@{user} {_reply(rng, when)}"
            tweets.append(w.tweet(text, when, reply_to=(str(next(others_status)), uid, user)))
        elif roll < 0.225 and n_posts - i >= 4:
            parts = THREADS[thread_i] if thread_i < len(THREADS) else _log_thread(rng, when)
            thread_i += 1
            previous = None
            for part in parts[: n_posts - i]:
                tid = w.snowflake(when)
                reply = (previous, ACCOUNT_ID, HANDLE) if previous else None
                tweets.append(w.tweet(part, when, tid=tid, reply_to=reply))
                previous = tid
                when = w.tick()
        elif roll < 0.28:
            intro, slug = _link_intro(rng, when)
            link = w.tco()
            tweets.append(w.tweet(f"{intro} {link}", when, urls=[(link, f"https://tollanhead.example/{slug}")]))
        elif roll < 0.34:
            text = rng.choice((_sky, _birds))(rng, when)
            link = w.tco()
            tweets.append(w.tweet(f"{text} {link}", when, media=link))
        elif roll < 0.38:
            tweets.append(w.tweet(rng.choice(SHORT), when))
        else:
            func = rng.choices(_ORIG_FUNCS, _ORIG_WEIGHTS)[0]
            tweets.append(w.tweet(func(rng, when), when))

    deleted = []
    for k in range(3):
        when = FIRST_DAY + timedelta(days=200 + 300 * k)
        t = w.tweet(["Ignore that last post, Bosun walked on the keyboard.",
                     "Wrong photo, sorry. That was the inside of my pocket.",
                     "Deleting this before Morwenna sees it."][k], when)
        t["deleted_at"] = (when + timedelta(minutes=9)).strftime("%a %b %d %H:%M:%S +0000 %Y")
        deleted.append(t)
    return tweets, notes, deleted


def _long_text(rng: random.Random, k: int) -> str:
    if k < len(LONG_POSTS):
        return LONG_POSTS[k]
    # Past the hand-written ones (big archives), long posts are stitched from musings and log lines.
    when = FIRST_DAY
    pieces = [_fill(rng, m, when) for m in rng.sample(MUSINGS, 4)]
    pieces.insert(2, _log_entry(rng, when))
    return " ".join(pieces)


def _note(w: Writer, text: str, when: datetime) -> dict:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"noteTweet": {
        "noteTweetId": str(int(w.snowflake(when)) + 3),
        "updatedAt": stamp,
        "lifecycle": {"value": "0", "name": "Active", "originalName": "Active", "annotations": {}},
        "createdAt": stamp,
        "core": {"styletags": [], "urls": [], "text": text, "mentions": [], "cashtags": [], "hashtags": []},
    }}


# -- the files ------------------------------------------------------------------------------------


def _js(global_name: str, value) -> bytes:
    """``window.YTD.x.part0 = [...]`` pretty-printed the way X writes it ("key" : value)."""
    body = orjson.dumps(value, option=orjson.OPT_INDENT_2)
    # Keys sit at the start of a line; the texts here never hold '": ', so this only touches keys.
    body = body.replace(b'": ', b'" : ').replace(b"[]", b"[ ]").replace(b"{}", b"{ }")
    return b"window." + global_name.encode() + b" = " + body


def _avatar_png() -> bytes:
    """A 32x32 picture of a lighthouse beam on a night sky, as a PNG, without an imaging library."""
    size = 32
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            r, g, b = 12, 20, 48  # night
            if (x * 7 + y * 13) % 97 == 0:
                r, g, b = 230, 230, 255  # a star
            if 13 <= x <= 18 and y >= 12:
                r, g, b = (220, 40, 40) if (y // 4) % 2 else (240, 240, 240)  # the tower's bands
            if 12 <= x <= 19 and 8 <= y <= 11:
                r, g, b = 255, 214, 90  # the lamp
            if y < 12 and abs((y - 9) * 3 - (x - 19)) < 3 and x > 19:
                r, g, b = 200, 180, 90  # the beam
            row += bytes((r, g, b))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def build_archive(n_posts: int = 480, seed: int = 7, part_size: int | None = None) -> dict[str, bytes]:
    """Member name -> bytes of the archive."""
    tweets, notes, deleted = build_tweets(n_posts, seed)
    tweets.reverse()  # the archive lists newest first
    if part_size is None:
        # Small archives are split in two so that the sample shows the partN layout; big ones
        # every 100,000 posts (X itself splits by size).
        part_size = max((n_posts * 2) // 3, 1) if n_posts <= 5000 else 100_000
    parts = [tweets[i:i + part_size] for i in range(0, len(tweets), part_size)] or [[]]
    avatar_leaf = "default_profile.png"
    files: dict[str, bytes] = {}
    tweet_files = []
    for k, part in enumerate(parts):
        name = "data/tweets.js" if k == 0 else f"data/tweets-part{k}.js"
        files[name] = _js(f"YTD.tweets.part{k}", [{"tweet": t} for t in part])
        tweet_files.append({"fileName": name, "globalName": f"YTD.tweets.part{k}", "count": str(len(part))})
    files["data/note-tweet.js"] = _js("YTD.note_tweet.part0", notes)
    files["data/deleted-tweets.js"] = _js("YTD.deleted_tweets.part0", [{"tweet": t} for t in deleted])
    files["data/account.js"] = _js("YTD.account.part0", [{"account": {
        "email": "keeper@tollanhead.example",
        "createdVia": "web",
        "username": HANDLE,
        "accountId": ACCOUNT_ID,
        "createdAt": "2019-03-02T19:44:10.000Z",
        "accountDisplayName": NAME,
    }}])
    files["data/profile.js"] = _js("YTD.profile.part0", [{"profile": {
        "description": {
            "bio": "Keeper of the Tollan Head light. Amateur astronomer with a brass refractor and a "
                   "cat called Bosun. Weather in the log every four hours.",
            "website": "https://t.co/Hk2LmQ9xZa",
            "location": "Tollan Head, on the rock",
        },
        # A fictional account has no picture on X: the card links X's default avatar (a real URL,
        # never a made-up one), while the preview draws the picture shipped in profile_media.
        "avatarMediaUrl": "https://abs.twimg.com/sticky/default_profile_images/default_profile.png",
    }}])
    files[f"data/profile_media/{ACCOUNT_ID}-{avatar_leaf}"] = _avatar_png()

    def listed(name: str, global_name: str, count: int) -> dict:
        return {"files": [{"fileName": name, "globalName": global_name, "count": str(count)}]}

    manifest = {
        "userInfo": {"accountId": ACCOUNT_ID, "userName": HANDLE, "displayName": NAME},
        "archiveInfo": {"sizeBytes": str(sum(len(v) for v in files.values())),
                        "generationDate": "2024-10-01T09:30:00.000Z",
                        "isPartialArchive": False, "maxPartSizeBytes": "53687091200"},
        "readmeInfo": {"fileName": "data/README.txt", "directory": "data/", "name": "README.txt"},
        "dataTypes": {
            "account": listed("data/account.js", "YTD.account.part0", 1),
            "deletedTweets": {"mediaDirectory": "data/deleted_tweets_media",
                              **listed("data/deleted-tweets.js", "YTD.deleted_tweets.part0", len(deleted))},
            "noteTweet": listed("data/note-tweet.js", "YTD.note_tweet.part0", len(notes)),
            "profile": {"mediaDirectory": "data/profile_media",
                        **listed("data/profile.js", "YTD.profile.part0", 1)},
            "tweets": {"mediaDirectory": "data/tweets_media", "files": tweet_files},
        },
    }
    files["data/manifest.js"] = (b"window.__THAR_CONFIG = "
                                 + orjson.dumps(manifest, option=orjson.OPT_INDENT_2).replace(b'": ', b'" : '))
    files["data/README.txt"] = (b"Your X archive. Open 'Your archive.html' in a browser to explore it; "
                                b"the data/ folder holds the same data as JavaScript files.\n")
    return dict(sorted(files.items()))


def write_zip(files: dict[str, bytes], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=6)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=480, help="tweet objects in tweets.js (default 480)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("-o", "--output", type=Path,
                        default=Path(__file__).resolve().parent / "sample-archive.zip",
                        help="zip to write (default examples/sample-archive.zip)")
    args = parser.parse_args(argv)
    if args.posts < 10:
        parser.error("--posts must be at least 10")
    write_zip(build_archive(args.posts, args.seed), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
