"""Top-level domains the email and URL recognizers accept."""

from __future__ import annotations

from casevault.redaction.recognizers.base import words

__all__ = ["ALL_TLDS", "BARE_DOMAIN_TLDS", "CCTLDS", "SECOND_LEVEL_LABELS", "SPACED_TLDS", "WORDLIKE_TLDS"]

# ISO 3166 two-letter codes used as ccTLDs (plus uk, eu).
_CCTLDS = words(
    """ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bw by bz
    ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm
    fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it
    je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn
    mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps
    pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk
    tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
)
# Generic TLDs common in support text; the long tail of new gTLDs is left out to keep false positives down.
_GENERIC = words(
    """com net org edu gov mil int info biz name pro mobi aero coop museum jobs travel tel asia cat xxx app dev
    io ai cloud online site store shop tech blog email mail live life world today news media digital agency
    company solutions services support systems network global group team work works zone link click xyz top
    club design space website email page host health law legal bank insurance finance money church city london
    berlin paris nyc tokyo amsterdam wien swiss bayern"""
)
ALL_TLDS: frozenset[str] = _CCTLDS | _GENERIC
# When the domain in an email is separated by spaces instead of dots ("XYZ @contoso com"), only these count.
# Words that are also TLDs ("in", "it", "at", "to", "be", "no") are left out: "thanks @john in advance".
SPACED_TLDS: frozenset[str] = words(
    """com net org edu gov io uk de fr ca au jp nl es ch se dk fi ie nz br mx eu info biz ru pl cz pt gr hu
    ro"""
)
CCTLDS: frozenset[str] = _CCTLDS
# ccTLDs that are also everyday words: after a spaced "@" they count only when the local part looks like an
# address ("kavya_reddy @acme in" yes, "thanks @john in advance" no).
WORDLIKE_TLDS: frozenset[str] = words("in it at to be no me is us so do go my as am an or on if id hi la ma pe re")
# Labels that stand before a ccTLD in two-level suffixes written with spaces ("@acme co za", "@bbc co uk").
SECOND_LEVEL_LABELS: frozenset[str] = words("co com net org ac gov edu ne or go gob nic ltd plc")
# Bare domains in prose ("see contoso.com"): ccTLDs that are also common file extensions are excluded.
BARE_DOMAIN_TLDS: frozenset[str] = ALL_TLDS - words(
    "sh md ps pl rs so ai cc py in am ml mm js ts rb go cs hs ms cf ini bat exe dll log txt cfg ac ba mo ma"
)
