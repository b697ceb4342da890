"""Free-mail and ISP e-mail domains: never an account key (a gmail.com "account" would merge
strangers). Common providers worldwide; a policy adds its own with
``accounts.key.free_mail_extra``."""

from __future__ import annotations

FREE_MAIL_DOMAINS: frozenset[str] = frozenset("""
gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.ca
yahoo.co.in yahoo.co.jp yahoo.com.br ymail.com rocketmail.com hotmail.com hotmail.co.uk
hotmail.fr hotmail.de hotmail.es hotmail.it outlook.com outlook.fr outlook.de live.com
live.co.uk live.fr live.de msn.com passport.com aol.com aim.com icloud.com me.com mac.com
protonmail.com proton.me pm.me tutanota.com tuta.io zoho.com zohomail.com mail.com email.com
gmx.com gmx.de gmx.net gmx.at gmx.ch gmx.fr web.de t-online.de freenet.de yandex.com
yandex.ru ya.ru mail.ru bk.ru inbox.ru list.ru rambler.ru qq.com 163.com 126.com yeah.net
sina.com sohu.com naver.com daum.net hanmail.net orange.fr wanadoo.fr free.fr laposte.net
sfr.fr libero.it virgilio.it alice.it tiscali.it btinternet.com sky.com virginmedia.com
ntlworld.com talktalk.net comcast.net verizon.net att.net sbcglobal.net bellsouth.net
cox.net charter.net earthlink.net optonline.net rediffmail.com fastmail.com fastmail.fm
hushmail.com hey.com mailinator.com guerrillamail.com seznam.cz wp.pl o2.pl onet.pl
interia.pl bol.com.br uol.com.br terra.com.br telenet.be skynet.be ziggo.nl kpnmail.nl
home.nl planet.nl xs4all.nl bluewin.ch shaw.ca rogers.com sympatico.ca bigpond.com
optusnet.com.au
""".split())  # noqa: SIM905 (a list to read, not to diff)
