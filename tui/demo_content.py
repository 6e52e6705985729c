"""What the demo mailbox says: people, subject/body templates, thread scripts and the
newsletter, markup-injection and bounce texts.

Pure data (no I/O, no randomness); ``tui.demo_data`` turns it into messages. Addresses
live under the reserved example.* domains.
"""

from __future__ import annotations


# key: (display name, address, UTC offset in minutes, short name used in bodies)
SENDERS: dict[str, tuple[str, str, int, str]] = {
    "me": ("Sam Taylor", "sam.taylor@example.org", 0, "Sam"),
    "zoe": ("Zoë Müller", "zoe.mueller@example.de", 60, "Zoë"),
    "jose": ("José Álvarez", "jose.alvarez@example.es", 60, "José"),
    "hanako": ("佐藤 花子", "hanako.sato@example.jp", 540, "花子"),
    "priya": ("Priya Raman", "priya.raman@example.com", 330, "Priya"),
    "lukasz": ("Łukasz Wójcik", "lukasz.wojcik@example.pl", 60, "Łukasz"),
    "amara": ("Amara Okafor", "amara.okafor@example.com", 60, "Amara"),
    "chen": ("Chen Wei", "chen.wei@example.cn", 480, "Chen"),
    "olivia": ("Olivia Bennett", "olivia.bennett@example.co.uk", 0, "Olivia"),
    "mateo": ("Mateo Rossi", "mateo.rossi@example.it", 60, "Mateo"),
    "ingrid": ("Ingrid Søndergaard", "ingrid@example.dk", 60, "Ingrid"),
    "noah": ("Noah Fischer", "noah.fischer@example.com", -300, "Noah"),
    "fatima": ("Fatima El Idrissi", "fatima.elidrissi@example.net", 0, "Fatima"),
    "forge": ("Forge", "notifications@forge.example.com", 0, "Forge"),
    "news": ("Tech Weekly", "newsletter@techweekly.example.net", 0, "Tech Weekly"),
    "shop": ("Ñandú Outdoor", "shop@nandu.example.com", 60, "Ñandú"),
    "cal": ("Team Calendar", "calendar@example.org", 0, "Calendar"),
    "bank": ("Example Bank", "no-reply@bank.example.com", 60, "Example Bank"),
    "billing": ("CloudHost Billing", "billing@cloudhost.example.com", 0, "CloudHost"),
    "rail": ("Bahn Tickets", "tickets@rail.example.eu", 60, "Bahn"),
    "prize": ("Prize Committee", "winner@prizes.example.net", 0, "Prize"),
}
PEOPLE = tuple(k for k in SENDERS if k not in {
    "me", "forge", "news", "shop", "cal", "bank", "billing", "rail", "prize"})
PROJECTS = ("Alpha", "Orion", "Helios", "Juniper")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January February March April May June July August September October November "
          "December").split()  # not strftime("%B"): that follows the locale
ISSUES = ("Crash when a folder name contains '&'", "Unicode subjects are cut off",
          "Add a dark theme", "IDLE reconnect loops forever", "Sort by size")
HEADLINES = ("Python 3.14 is out", "Rust in the kernel, one year on",
             "Terminal UIs are back", "IMAP is 40 years old")

# Filler templates: (sender key or "people", kind, folder tags, subject, body).
# kinds: plain, alt (text+html), html (html only), pdf / specs (with attachments).
# tags: i=INBOX a=Archive t=Trash p=Projects s=Sent n=Newsletters r=Reçus x=Specs
TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("people", "plain", "ia", "Lunch on {day}?",
     "Hi {me},\n\nare you free for lunch on {day}? The new ramen place near the "
     "station finally opened.\n\nCheers,\n{name}"),
    ("people", "plain", "iap", "Quick question about {project}",
     "Hey {me},\n\ndo you know who owns the deployment scripts for {project}? The README "
     "still points at the old wiki page.\n\nThanks!\n{name}"),
    ("people", "alt", "iap", "Notes from today's {project} sync",
     "Hi all,\n\nshort summary of today's sync:\n\n- the {project} beta ships on {day}\n"
     "- {name} takes over the on-call rota\n- open question: do we keep the old API?\n\n"
     "Full notes are in the wiki.\n\n{name}"),
    ("zoe", "plain", "ia", "Grüße aus München",
     "Hallo {me},\n\nviele Grüße aus München! Das Wetter ist herrlich und die Konferenz "
     "war großartig. Nächste Woche bin ich wieder im Büro.\n\nLiebe Grüße\nZoë"),
    ("jose", "plain", "ia", "Réunion de lundi — ordre du jour",
     "Bonjour {me},\n\nvoici l'ordre du jour pour lundi :\n\n1. Bilan du trimestre\n"
     "2. Feuille de route {project}\n3. Questions diverses\n\nÀ lundi,\nJosé"),
    ("hanako", "plain", "ia", "週末の予定について",
     "{me}さん\n\n週末のハイキングの件、土曜日の朝9時に駅で集合でいかがでしょうか？\n"
     "雨の場合は日曜日に延期します。\n\n花子"),
    ("people", "alt", "ia", "Photos from the weekend 📷",
     "Hi {me},\n\nI uploaded the photos from the weekend to the shared album. The one "
     "with the goat is my favourite.\n\n{name}"),
    ("people", "plain", "iap", "Can you review PR #{n}?",
     "Hi {me},\n\ncould you take a look at PR #{n} when you have a minute? It touches "
     "the {project} cache layer, so a second pair of eyes would help.\n\n{name}"),
    ("people", "plain", "ia", "Re-scheduling our 1:1",
     "Hi {me},\n\nsomething came up on {day}. Could we move our 1:1 to {time}?\n\n{name}"),
    ("people", "plain", "ia", "Travel expenses for {month}",
     "Hi {me},\n\nplease submit your travel expenses for {month} by the end of the "
     "week. Receipts can be scanned.\n\nThanks,\n{name}"),
    ("people", "alt", "ip", "Heads-up: {project} code freeze starts {day}",
     "Hi everyone,\n\nthe {project} code freeze starts on {day} at {time}. Please land "
     "your changes before then.\n\n- bug fixes are fine after the freeze\n- features are "
     "not\n\n{name}"),
    ("people", "plain", "ia", "Book recommendation",
     "{me},\n\nyou asked for a book tip: \"The Soul of a New Machine\" by Tracy Kidder. "
     "Still holds up.\n\n{name}"),
    ("forge", "plain", "iat", "[tui-mail] Issue #{n}: {issue}",
     "{issue} (#{n})\n\nOpened by {name2}.\n\nSteps to reproduce are in the issue.\n\n--\n"
     "Reply to this email directly or view it on Forge:\n"
     "https://forge.example.com/tui-mail/tui-mail/issues/{n}"),
    ("forge", "plain", "iat", "[tui-mail] CI failed on main ({sha})",
     "Workflow \"tests\" failed for commit {sha} on main.\n\n  test_threads.py::"
     "test_reply_chain FAILED\n\nhttps://forge.example.com/tui-mail/tui-mail/actions/{n}"),
    ("news", "html", "itn", "Tech Weekly #{n}: {headline}", "newsletter"),
    ("shop", "html", "itn", "Ñandú Outdoor — Sommer-Schlussverkauf ☀", "newsletter"),
    ("cal", "alt", "ip", "Invitation: {project} planning @ {day} {time}",
     "You have been invited to \"{project} planning\".\n\nWhen: {day} {time}\n"
     "Where: Room 4.12 / video call\nOrganizer: {name2}\n\nAccept or decline in your "
     "calendar."),
    ("bank", "plain", "iar", "Your statement for {month} is ready",
     "Dear customer,\n\nyour account statement for {month} is now available in online "
     "banking.\n\nThis is an automated message, please do not reply."),
    ("billing", "pdf", "r", "Receipt for your payment to CloudHost ({amount})",
     "Thank you for your payment of {amount}.\n\nInvoice #{n} is attached as a PDF."),
    ("rail", "pdf", "r", "Ihre Fahrkarte – Buchung {n}",
     "Guten Tag,\n\nvielen Dank für Ihre Buchung. Ihre Fahrkarte finden Sie im Anhang."
     "\n\nGute Reise!"),
    ("shop", "pdf", "r", "Reçu n° {n} — commande confirmée",
     "Merci pour votre commande de {amount}. Votre reçu est joint à ce message."),
    ("me", "plain", "s", "Slides for {day}",
     "Hi {name},\n\nhere are my notes for the slides on {day}. I'll send the final deck "
     "tomorrow.\n\nSam"),
    ("me", "plain", "s", "Thanks!",
     "Hi {name},\n\nthanks a lot for your help with {project} last week!\n\nSam"),
    ("people", "specs", "x", "{project} data model, revision {n}",
     "Hi,\n\nattached are the updated data model export and the diagram for revision "
     "{n}.\n\n{name}"),
)

# (folder, subject, first message days before now, hours between, messages)
THREADS: tuple[tuple[str, str, float, float, tuple[tuple[str, str], ...]], ...] = (
    ("INBOX", "Alpha launch checklist", 1.6, 5, (
        ("zoe", "Hi all,\n\nI put the launch checklist in the shared drive. Please tick "
         "off your items by Thursday:\n\n- release notes\n- migration guide\n"
         "- status page update"),
        ("me", "Thanks Zoë! Release notes are done, I'll take the migration guide too."),
        ("jose", "Status page is updated. I also added a rollback section."),
        ("me", "The rollback section looks good. Dry run tomorrow at 10:00?"),
        ("zoe", "Dry run works for me. See you at 10!"))),
    ("INBOX", "Über das Budget 2027", 38, 20, (
        ("lukasz", "Hallo Sam,\n\nanbei meine Anmerkungen zum Budgetentwurf. Die "
         "Reisekosten sind aus meiner Sicht zu knapp bemessen."),
        ("me", "Hallo Łukasz,\n\ndanke! Ich erhöhe die Reisekosten um 10 % und schicke "
         "dir die neue Version."),
        ("lukasz", "Perfekt, danke. Dann gebe ich den Entwurf am Freitag frei."))),
    ("INBOX", "会議の議事録 — meeting notes", 95, 9, (
        ("hanako", "皆さん、\n\n本日の会議の議事録を共有します。\n\n1. リリース日程の確認\n"
         "2. 翻訳の進捗\n3. 次回の会議は来週の水曜日です。"),
        ("me", "Thank you, Hanako! Could you add the translation deadline to item 2?"),
        ("hanako", "はい、追加しました。The deadline is the 14th."),
        ("priya", "Thanks both. I'll sync the glossary before then."))),
    ("INBOX", "Offsite venue options", 210, 30, (
        ("olivia", "Hi everyone,\n\nI shortlisted three venues for the spring offsite:\n"
         "\n1. Lakeside Lodge (60 people)\n2. The Old Mill (40 people)\n"
         "3. Harbour Loft (80 people)\n\nPreferences?"),
        ("mateo", "The Old Mill looks lovely, but 40 is tight if the design team joins."),
        ("me", "+1 for Lakeside Lodge, it has the better train connection."),
        ("olivia", "Lakeside it is, unless someone objects by Friday."),
        ("ingrid", "No objection — can we make sure there are vegetarian options?"),
        ("me", "I'll ask them about the menu. Thanks for organising, Olivia!"))),
    ("Projects/Alpha", "Spec review: sync protocol v2", 21, 26, (
        ("priya", "Hi,\n\nthe draft for sync protocol v2 is ready for review. Main "
         "change: we switch from polling to IDLE with a 29 minute refresh."),
        ("me", "Looks good overall. What happens when the server has no IDLE?"),
        ("chen", "We fall back to NOOP polling every 60 seconds. I added a section."),
        ("priya", "Merged Chen's section. I'll mark the spec as accepted on Monday."))),
)

# folder -> (count, template tag, min days ago, max days ago); INBOX is filled separately
FOLDER_PLAN = {
    "Sent": (14, "s", 1, 540), "Trash": (9, "t", 1, 60), "Archive": (42, "a", 200, 548),
    "Newsletters": (12, "n", 0.5, 300), "Reçus": (8, "r", 3, 400),
    "Projects": (5, "p", 5, 300), "Projects/Alpha": (8, "p", 2, 120),
    "Projects/Alpha/Specs": (6, "x", 3, 150),
}
DRAFTS = (
    ("zoe", "Antwort: Übergabe der Schlüssel", "Hallo Zoë,\n\ndie Übergabe könnte am"),
    ("olivia", "Offsite ideas (unfinished)", "Ideas so far:\n\n- boat trip\n- "),
    ("jose", "", "José, about the contract —"),
)
NEWSLETTER_HTML = """<html><head><meta charset="utf-8"><title>{sender}</title></head>
<body style="font-family: sans-serif">
<h1>{subject}</h1>
<p>Hello {me}, here is what happened this week:</p>
<ul>
<li><a href="https://{domain}/articles/{n}">{headline}</a> &ndash; the long read</li>
<li><a href="https://{domain}/articles/{n2}">Ten keyboard shortcuts you will love</a></li>
<li>Deal of the week: <b>{amount}</b> off with code <code>DEMO{n}</code></li>
</ul>
<table border="1" cellpadding="4">
<tr><th>Release</th><th>Version</th><th>Date</th></tr>
<tr><td>Textual</td><td>8.2</td><td>{day}</td></tr>
<tr><td>Dovecot</td><td>2.4</td><td>{month}</td></tr>
</table>
<p>You receive this because you subscribed at {domain}.
<a href="https://{domain}/unsubscribe?u={n}">Unsubscribe</a></p>
</body></html>
"""
MARKUP_SUBJECT = "[@click=app.quit]Free prize[/] \x1b]52;c;ZXZpbA==\x07 [/bold]"
MARKUP_BODY = ("Congratulations!!! [bold red]You won[/] a [@click=app.quit]prize[/].\n"
               "\x1b[31mThis line tries to turn your terminal red.\x1b[0m\n"
               "\x1b]0;pwned title\x07[link=https://evil.example.com]claim here[/link]\n")
DSN_TEMPLATE = """From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: Sam Taylor <sam.taylor@example.org>
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: {msgid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="=_dsn_{seq}"

This is a MIME-encapsulated message.

--=_dsn_{seq}
Content-Type: text/plain; charset=us-ascii
Content-Description: Notification

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<lars@invalid.example.com>: host mx.invalid.example.com[192.0.2.25] said:
    550 5.1.1 <lars@invalid.example.com>: Recipient address rejected:
    User unknown in virtual mailbox table

--=_dsn_{seq}
Content-Type: message/delivery-status
Content-Description: Delivery report

Reporting-MTA: dns; mx.example.org
Arrival-Date: {date}

Final-Recipient: rfc822; lars@invalid.example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.invalid.example.com
Diagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: User unknown

--=_dsn_{seq}
Content-Type: text/rfc822-headers
Content-Description: Undelivered Message Headers

From: Sam Taylor <sam.taylor@example.org>
To: lars@invalid.example.com
Subject: Slides for Thursday
Date: {orig_date}
Message-ID: <slides.{seq}@example.org>

--=_dsn_{seq}--
"""
INVITE_TEXT = ("Zoë Müller invites you to the Alpha launch dry run.\n\n"
               "Room Juniper, 3rd floor, or join from your desk.\n")
INVITE_ICS = """BEGIN:VCALENDAR
PRODID:-//Example//Team Calendar//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VEVENT
UID:alpha-dry-run@example.org
DTSTAMP:{stamp}
DTSTART:{start}
DTEND:{end}
SUMMARY:Alpha launch dry run
LOCATION:Room Juniper\\, 3rd floor
ORGANIZER;CN=Zoë Müller:mailto:zoe.mueller@example.de
ATTENDEE;CN=Sam Taylor;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:sam.taylor@example.org
END:VEVENT
END:VCALENDAR
"""
REPORT_LINES = (
    "Capacity stayed within the planned envelope for the whole quarter.",
    "Two incidents were caused by expired certificates; renewal is now automated.",
    "Backups were restored successfully in the monthly drill (RTO 41 minutes).",
    "Disk usage grows by roughly 3% per month; no action needed before Q2.",
)
