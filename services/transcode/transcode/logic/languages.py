"""Language tags as a media file writes them (ISO 639-2, "eng") and as HLS wants them (RFC 5646, "en"). Pure.

RFC 5646 uses the two-letter ISO 639-1 code where a language has one, else the three-letter one; a
file may already hold such a tag ("pt-BR", Matroska's BCP 47 element). "und" (undetermined), "mis"
(uncoded) and "zxx" (no linguistic content) say nothing a player could choose by: no tag.
"""

from __future__ import annotations

import re

# ISO 639-1, its ISO 639-2 terminology code (and the bibliographic one where it differs), its English name.
_TABLE = """\
aa aar - Afar|ab abk - Abkhazian|af afr - Afrikaans|ak aka - Akan|am amh - Amharic|an arg - Aragonese
ar ara - Arabic|as asm - Assamese|av ava - Avaric|ay aym - Aymara|az aze - Azerbaijani|ba bak - Bashkir
be bel - Belarusian|bg bul - Bulgarian|bi bis - Bislama|bm bam - Bambara|bn ben - Bengali|bo bod tib Tibetan
br bre - Breton|bs bos - Bosnian|ca cat - Catalan|ce che - Chechen|ch cha - Chamorro|co cos - Corsican
cr cre - Cree|cs ces cze Czech|cu chu - Church Slavic|cv chv - Chuvash|cy cym wel Welsh|da dan - Danish
de deu ger German|dv div - Divehi|dz dzo - Dzongkha|ee ewe - Ewe|el ell gre Greek|en eng - English
eo epo - Esperanto|es spa - Spanish|et est - Estonian|eu eus baq Basque|fa fas per Persian|ff ful - Fulah
fi fin - Finnish|fj fij - Fijian|fo fao - Faroese|fr fra fre French|fy fry - Western Frisian|ga gle - Irish
gd gla - Scottish Gaelic|gl glg - Galician|gn grn - Guarani|gu guj - Gujarati|gv glv - Manx|ha hau - Hausa
he heb - Hebrew|hi hin - Hindi|ho hmo - Hiri Motu|hr hrv - Croatian|ht hat - Haitian Creole|hu hun - Hungarian
hy hye arm Armenian|hz her - Herero|ia ina - Interlingua|id ind - Indonesian|ie ile - Interlingue|ig ibo - Igbo
ii iii - Sichuan Yi|ik ipk - Inupiaq|io ido - Ido|is isl ice Icelandic|it ita - Italian|iu iku - Inuktitut
ja jpn - Japanese|jv jav - Javanese|ka kat geo Georgian|kg kon - Kongo|ki kik - Kikuyu|kj kua - Kuanyama
kk kaz - Kazakh|kl kal - Kalaallisut|km khm - Khmer|kn kan - Kannada|ko kor - Korean|kr kau - Kanuri
ks kas - Kashmiri|ku kur - Kurdish|kv kom - Komi|kw cor - Cornish|ky kir - Kyrgyz|la lat - Latin
lb ltz - Luxembourgish|lg lug - Ganda|li lim - Limburgish|ln lin - Lingala|lo lao - Lao|lt lit - Lithuanian
lu lub - Luba-Katanga|lv lav - Latvian|mg mlg - Malagasy|mh mah - Marshallese|mi mri mao Maori
mk mkd mac Macedonian|ml mal - Malayalam|mn mon - Mongolian|mr mar - Marathi|ms msa may Malay|mt mlt - Maltese
my mya bur Burmese|na nau - Nauru|nb nob - Norwegian Bokmål|nd nde - North Ndebele|ne nep - Nepali
ng ndo - Ndonga|nl nld dut Dutch|nn nno - Norwegian Nynorsk|no nor - Norwegian|nr nbl - South Ndebele
nv nav - Navajo|ny nya - Chichewa|oc oci - Occitan|oj oji - Ojibwa|om orm - Oromo|or ori - Odia
os oss - Ossetian|pa pan - Punjabi|pi pli - Pali|pl pol - Polish|ps pus - Pashto|pt por - Portuguese
qu que - Quechua|rm roh - Romansh|rn run - Rundi|ro ron rum Romanian|ru rus - Russian|rw kin - Kinyarwanda
sa san - Sanskrit|sc srd - Sardinian|sd snd - Sindhi|se sme - Northern Sami|sg sag - Sango|si sin - Sinhala
sk slk slo Slovak|sl slv - Slovenian|sm smo - Samoan|sn sna - Shona|so som - Somali|sq sqi alb Albanian
sr srp - Serbian|ss ssw - Swati|st sot - Southern Sotho|su sun - Sundanese|sv swe - Swedish|sw swa - Swahili
ta tam - Tamil|te tel - Telugu|tg tgk - Tajik|th tha - Thai|ti tir - Tigrinya|tk tuk - Turkmen|tl tgl - Tagalog
tn tsn - Tswana|to ton - Tongan|tr tur - Turkish|ts tso - Tsonga|tt tat - Tatar|tw twi - Twi|ty tah - Tahitian
ug uig - Uyghur|uk ukr - Ukrainian|ur urd - Urdu|uz uzb - Uzbek|ve ven - Venda|vi vie - Vietnamese
vo vol - Volapük|wa wln - Walloon|wo wol - Wolof|xh xho - Xhosa|yi yid - Yiddish|yo yor - Yoruba
za zha - Zhuang|zh zho chi Chinese|zu zul - Zulu"""
# A few languages with no two-letter code that subtitles often come in.
_THREE_LETTER_NAMES = {"fil": "Filipino", "yue": "Cantonese", "haw": "Hawaiian", "sgn": "Sign language"}

_ROWS = [entry.split(" ", 3) for line in _TABLE.splitlines() for entry in line.split("|")]
_TWO_LETTER = {code: two for two, t, b, _ in _ROWS for code in (t, b) if code != "-"}
_NAMES = {two: name for two, _, _, name in _ROWS} | _THREE_LETTER_NAMES
_SAYS_NOTHING = {"und", "mis", "zxx"}
_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}")


def rfc5646(raw: str | None) -> str | None:
    """The RFC 5646 tag for a file's language tag ("eng" -> "en", "pt_br" -> "pt-BR"); None when it says none."""
    text = (raw or "").strip().replace("_", "-")
    if not _TAG.fullmatch(text):
        return None
    primary, *rest = text.split("-")
    primary = primary.lower()
    if primary in _SAYS_NOTHING:
        return None
    primary = _TWO_LETTER.get(primary, primary)
    subtags = [
        s.upper() if len(s) == 2 and s.isalpha() else s.title() if len(s) == 4 and s.isalpha() else s.lower()
        for s in rest
    ]
    return "-".join([primary, *subtags])


def english_name(tag: str | None) -> str | None:
    """What a person calls the language of an RFC 5646 tag ("en" -> "English", "pt-BR" -> "Portuguese (BR)")."""
    if not tag:
        return None
    primary, *rest = tag.split("-")
    name = _NAMES.get(primary.lower())
    if name is None:
        return None
    region = next((s for s in rest if (len(s) == 2 and s.isalpha()) or (len(s) == 3 and s.isdigit())), None)
    return f"{name} ({region.upper()})" if region else name
