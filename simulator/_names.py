"""Word lists for synthetic names: person names for emails, words for company names and domains."""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "david", "elizabeth",
    "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
    "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark", "sandra", "steven", "ashley",
    "paul", "emily", "andrew", "donna", "joshua", "michelle", "kenneth", "carol", "kevin", "amanda",
    "brian", "melissa", "george", "deborah", "timothy", "stephanie", "ronald", "rebecca", "jason", "laura",
    "priya", "arjun", "wei", "mei", "hiroshi", "yuki", "lars", "ingrid", "pierre", "amelie",
    "lukas", "hannah", "omar", "fatima", "diego", "lucia", "noah", "olivia", "liam", "emma",
)
LAST_NAMES: tuple[str, ...] = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
    "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
    "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson",
    "walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores",
    "green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts",
    "patel", "shah", "chen", "wang", "tanaka", "sato", "muller", "schmidt", "dubois", "moreau",
    "larsen", "nilsson", "kowalski", "novak", "rossi", "bianchi", "silva", "santos", "kim", "park",
)
COMPANY_WORDS: tuple[str, ...] = (
    "acme", "northwind", "globex", "initech", "umbrella", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
    "hooli", "pied", "vandelay", "soylent", "gringotts", "oscorp", "aperture", "blackmesa", "massive",
    "vertex", "summit", "harbor", "pinnacle", "bluebird", "redwood", "ironclad", "silverline", "brightpath",
    "clearwater", "evergreen", "falcon", "granite", "horizon", "keystone", "lighthouse", "meridian",
    "nimbus", "orbit", "polaris", "quantum", "riverstone", "sequoia", "trident", "unity", "vanguard",
    "westfield", "zenith", "apex", "beacon", "cobalt",
)
COMPANY_SUFFIXES: tuple[str, ...] = (
    "Systems", "Labs", "Group", "Health", "Financial", "Industries", "Media", "Networks", "Solutions",
    "Partners", "Holdings", "Technologies", "Works", "Analytics", "Logistics",
)
