"""The default topics every company starts with: ids, French and English labels, revealing phrases.

A new company's taxonomy is seeded from these (:func:`webapp.services.taxonomy.seed_defaults`);
the worker's tagger (worker/tagging/rules.py) reads their phrases, whose syntax it documents
(``word*``, ``...``, and the leading ``~``, ``!`` and ``+``). They live on the web app's side
so that the web app never imports the worker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A topic of the taxonomy: a stable id, its labels, and the phrases that reveal it (syntax above)."""

    id: str
    fr: str
    en: str
    keywords_fr: tuple[str, ...]
    keywords_en: tuple[str, ...]


_DELIVERY = Topic(
    "delivery", "Livraison", "Delivery",
    keywords_fr=(
        "livraison", "livraisons", "livrer", "livree", "livrees", "livrez", "livrons",
        # "livré" folds to "livre" (a book): only where it can't be one
        "ete livre", "pas livre", "jamais livre", "bien livre", "livre en retard", "livre chez", "livre hier",
        "livrera", "livreront", "livraient", "livreur", "livreurs", "livreuse", "colis", "commande",
        "commandes", "commander", "commandee", "commandees", "expedition",
        "expedie", "expediee", "expedies", "expedier", "envoi", "transporteur", "chronopost", "frais de port",
        "frais de livraison",
        "colissimo", "la poste", "le facteur", "facteur", "point relais", "relais colis", "mondial relay",
        "ups", "dhl", "fedex", "dpd", "gls", "suivi de colis", "suivi du colis", "suivi de commande",
        "numero de suivi", "jamais recu", "pas recu", "rien recu", "pas encore recu", "jamais arrive",
        "jamais arrivee", "pas arrive", "pas arrivee", "toujours pas arrive", "toujours pas arrivee",
        "retard de livraison", "delai de livraison", "delais de livraison", "devant la porte",
        "boite aux lettres", "avis de passage", "carton", "emballage", "emballe", "mal emballe",
        "receptionne", "reception du colis", "adresse de livraison", "depose chez",
        # not about goods: a reply, a refund, a bill that never came
        "!pas recu ... reponse", "!jamais recu ... reponse", "!pas recu ... rembours*",
        "!jamais recu ... rembours*", "!pas recu ... mail", "!pas recu ... facture", "!pas recu ... appel",
        "!pas recu ... nouvelles", "!rien recu ... reponse", "!bon de commande", "!pas recu ... avoir",
        "livre la semaine", "livre le", "livre ce", "livre aujourd hui", "livre avant hier",
    ),
    keywords_en=(
        "delivery", "deliveries", "deliver", "delivers", "delivered", "delivering", "courier", "couriers",
        "parcel", "parcels", "package", "packages", "shipment", "shipping", "shipped", "ship", "dispatch*",
        "tracking", "tracking number", "my order", "the order", "our order", "an order", "your order",
        "this order", "order number", "orders", "ordered", "ordering", "postman", "the post", "post office",
        "royal mail", "ups", "dhl", "fedex", "dpd", "hermes", "evri", "usps", "never arrived",
        "never received", "not arrived", "hasn t arrived", "hasnt arrived", "has not arrived",
        "haven t received", "have not received", "didn t receive", "did not receive", "not received",
        "never turned up", "left outside", "doorstep", "safe place", "driver", "packaging", "box arrived",
        "late delivery", "delivery date", "delivery address", "arrived damaged", "arrived broken",
        "!received ... refund*", "!received ... reply", "!received ... answer", "!received ... response",
        "!received ... email", "!received ... invoice", "!received ... call", "!received ... money",
        "!received ... credit note", "missed delivery",
        "!in order to", "!out of order",
    ),
)

_BILLING = Topic(
    "billing", "Facturation", "Billing",
    keywords_fr=(
        "factur*", "prelev*", "debite", "debitee", "debites", "debiter", "debitez", "debit", "debits",
        "debite deux fois", "debite 2 fois", "preleve deux fois", "preleve 2 fois", "rembours*",
        "paiement", "paiements", "payer", "paye", "payee", "payes", "payez", "payant", "carte bancaire",
        "carte bleue", "carte de credit", "cb", "tarif*", "prix", "abonnement", "abonnements", "frais",
        "trop percu", "montant", "euros", "euro", "trop cher", "c est cher", "si cher", "plus cher",
        "hors de prix", "releve bancaire", "releve de compte", "compte bancaire", "rib", "coordonnees bancaires",
        "bancaire", "bancaires", "banque", "iban", "geste commercial", "gratuit", "gratuite", "un avoir",
        "aucun avoir", "votre avoir", "echeance",
        "echeancier", "mensualite", "mensualites", "virement", "devis", "somme", "argent", "avoir de",
        "en trois fois", "en plusieurs fois", "impaye", "impayes", "relance de paiement", "cout", "couts",
        "coute", "coutent", "surfacture", "promotion", "reduction", "code promo", "bon d achat", "resiliation",
        "resilier", "resilie",
        "!cher monsieur", "!chere madame", "!chers",
    ),
    keywords_en=(
        "bill", "bills", "billed", "billing", "invoice*", "charged", "charges", "charge me", "charge my",
        "overcharg*", "surcharge", "extra charge", "charging", "charge on", "credit note", "double charged",
        "charged twice", "refund*",
        "reimburs*", "payment*", "pay", "paid", "paying", "pay for", "price", "prices", "pricing",
        "priced", "overpriced", "expensive", "cost", "costs", "costed", "fee", "fees", "subscription",
        "subscriptions", "direct debit", "debit*", "credit card", "debit card", "bank account",
        "bank statement", "statement", "receipt", "tariff", "money", "money back", "discount",
        "promo code", "voucher", "cancel my contract", "cancel my subscription", "cancel the contract", "euros",
        "dollars", "pounds", "quid", "instalment*", "installment*",
        "!in charge",
    ),
)

_PRODUCT = Topic(
    "product", "Qualité du produit", "Product quality",
    keywords_fr=(
        "produit", "produits", "qualite", "mauvaise qualite", "bonne qualite", "panne", "pannes",
        "en panne", "tombe en panne", "tombee en panne", "defaut", "defauts", "defectueux", "defectueuse",
        "defaillant", "defaillante", "casse", "cassee", "casses", "cassees", "abime", "abimee", "abimes",
        "abimees", "endommage", "endommagee", "raye", "rayee", "fissure", "fissuree", "fele", "felee",
        "fuit", "fuite", "bruyant", "bruyante", "surchauffe", "chauffe", "ne s allume plus",
        "ne s allume pas", "s allume plus", "ne demarre plus", "demarre plus", "ne charge plus",
        "hors service", "hs", "mal fini", "mal finie", "piece manquante", "manque une piece",
        "pas conforme", "non conforme", "conforme", "ne correspond pas", "pas la bonne taille",
        "de mauvaise qualite", "se decoud", "dechire", "dechiree", "rouille", "perime", "perimee",
        "ne tient pas", "fragile",
        "~ne marche pas", "~ne marche plus", "~ne fonctionne pas", "~ne fonctionne plus", "~marche pas",
        "~marche plus", "~fonctionne pas", "~fonctionne plus", "~marchait pas",
        "~fonctionnait pas", "~remarche", "~ne marche", "~ne fonctionne", "~article", "~articles",
        "~appareil", "~machine", "~machine a laver", "~lave linge", "~lave vaisselle", "~frigo",
        "~refrigerateur", "~congelateur", "~four", "~micro ondes", "~aspirateur", "~television",
        "~tele", "~televiseur", "~ecran", "~batterie", "~chargeur", "~imprimante", "~ordinateur",
        "~tablette", "~box", "~decodeur", "~canape", "~matelas", "~meuble", "~chaudiere", "~vetement",
        "~chaussures", "~telephone portable", "~smartphone", "~cafetiere", "~machine a cafe", "~bouilloire",
        "~mixeur", "~blender", "~robe", "~pull", "~pantalon", "~veste", "~manteau", "~chemise", "~jean",
        "~fauteuil", "~chaise", "~table", "~lampe", "~casque", "~ecouteurs", "~velo", "~poussette",
        "dechirure", "tissu", "matiere", "finition", "finitions",
        "+confortable*", "+doux", "+douce*", "+solide*", "+silencieu*", "+puissant*", "+leger", "+legere",
        "+elegant*", "+beau", "+belle*", "+beaux", "+superbe*", "+magnifique*", "+joli*", "+delicieu*",
        "+resistant*", "+bien fini*", "+bien fait*", "+pratique", "+fiable", "+coupe", "+taille", "+adore",
        "!qualite du service", "!qualite de service", "!qualite de l accueil", "!qualite d accueil",
    ),
    keywords_en=(
        "product", "products", "quality", "poor quality", "good quality", "faulty", "fault", "defect",
        "defects", "defective", "broken", "broke", "broke down", "breaks", "stopped working",
        "damaged", "scratched", "scratch", "cracked", "crack", "dented", "leak*", "malfunction*",
        "overheat*", "noisy", "won t turn on", "wont turn on", "won t switch on", "won t start",
        "wont start", "won t charge", "missing part", "missing parts", "doesn t fit", "not as described",
        "cheaply made", "fell apart", "falling apart", "torn", "ripped", "rusty", "expired", "flimsy",
        "~doesn t work", "~does not work", "~doesnt work", "~not working", "~no longer works",
        "~won t work", "~didn t work", "~out of order", "~item", "~items", "~device", "~appliance",
        "~machine", "~washing machine", "~dishwasher", "~fridge", "~freezer", "~oven", "~microwave",
        "~vacuum", "~hoover", "~tv", "~television", "~screen", "~battery", "~charger", "~printer",
        "~laptop", "~tablet", "~router", "~sofa", "~mattress", "~boiler", "~headphones", "~shoes",
        "~handset", "~kettle", "~blender", "~coffee machine", "~toaster", "~armchair", "~chair", "~table",
        "~lamp", "~dress", "~jumper", "~sweater", "~jacket", "~coat", "~boots", "~trousers", "~jeans",
        "~shirt", "~bike", "~pram", "~speaker", "~earphones", "~earbuds", "~fabric", "fabric", "material",
        "+comfortable", "+comfy", "+soft", "+sturdy", "+solid", "+quiet", "+powerful", "+gorgeous",
        "+beautiful", "+stunning", "+elegant", "+stylish", "+well made", "+lightweight", "+delicious",
        "+durable", "+sound*", "+looks", "+fits", "+battery lasts", "+boils", "+warm", "+lovely",
        "!quality of service", "!service quality", "!customer service quality", "!broke the news",
    ),
)

_STAFF = Topic(
    "staff", "Accueil et personnel", "Staff",
    keywords_fr=(
        "accueil", "accueilli", "accueillie", "accueillant", "accueillante", "conseiller", "conseillers",
        "conseillere", "conseilleres", "conseiller clientele", "technicien", "technicienne",
        "techniciens", "vendeur", "vendeuse", "vendeurs", "employe", "employee", "employes", "personnel",
        "agent", "agents", "operatrice", "interlocuteur", "interlocutrice", "standardiste", "hotesse",
        "la dame", "le monsieur", "la personne", "le responsable", "la responsable", "responsable",
        "directeur", "directrice", "gerant", "gerante", "caissier", "caissiere",
        "raccroche au nez", "raccroche", "raccrocher", "aimable", "desagreable", "impoli", "impolie",
        "malpoli", "malpolie", "poli", "polie", "courtois", "courtoise", "sympathique", "sympa",
        "souriant", "souriante", "competent", "competente", "incompetent", "incompetente",
        "incompetence", "arrogant", "arrogante", "meprisant", "meprisante", "a l ecoute", "serviable",
        "professionnel", "professionnelle", "professionnalisme", "agressif", "agressive", "odieux",
        "odieuse", "gentil", "gentille", "patient", "patiente", "comportement", "attitude",
        "!me conseiller", "!vous conseiller", "!nous conseiller", "!la personne qui a commande",
    ),
    keywords_en=(
        "staff", "staff member", "employee", "employees", "agent", "agents", "advisor", "adviser",
        "advisors", "representative", "rep", "technician", "technicians", "engineer", "engineers",
        "sales assistant", "salesperson", "salesman", "saleswoman", "shop assistant", "cashier",
        "receptionist", "reception", "the lady", "the guy", "the man", "the woman", "the girl",
        "the person", "operator", "manager", "supervisor", "the team", "the staff", "hung up on me", "hung up",
        "rude", "polite", "impolite", "friendly", "unfriendly", "helpful", "unhelpful", "courteous",
        "knowledgeable", "professional", "unprofessional", "patient", "attitude", "arrogant",
        "condescending", "incompetent", "competent", "kind", "welcoming", "welcome", "behaviour",
        "behavior",
        "!welcome to",
    ),
)

_WAITING = Topic(
    "waiting", "Temps d'attente", "Waiting time",
    keywords_fr=(
        "attente", "temps d attente", "file d attente", "en attente", "mis en attente",
        "musique d attente", "attendre", "attendu", "attendue", "attends", "attend", "attendais",
        "attendait", "attendons", "patienter", "patiente", "des heures", "une heure", "pendant une heure",
        "minutes au telephone", "attendu ... minutes", "pendant ... minutes", "depuis ... minutes",
        "~ca fait ... semaines", "~ca fait ... jours", "~ca fait ... mois", "~cela fait ... semaines",
        "~cela fait ... jours", "~cela fait ... mois", "~depuis des semaines", "~depuis des mois",
        "~depuis des jours", "~depuis ... semaines", "~depuis ... mois", "personne ne repond",
        "personne ne decroche", "personne ne m a rappele", "injoignable", "impossible de joindre",
        "impossible de vous joindre", "pas de reponse", "aucune reponse", "sans reponse",
        "toujours pas de reponse", "jamais rappele", "pas rappele", "pas ete rappele",
        "relance", "relances", "relancer", "delai", "delais", "trop long", "trop longtemps",
        "longtemps", "la queue", "faire la queue", "pas de nouvelles",
        "aucune nouvelle", "aucune nouvelles", "sans nouvelles", "toujours rien",
        "!m attendais", "!m attendait", "!s attendait", "!a quoi s attendre", "!patient", "!patiente avec",
        "!attends un rembours*", "!attends le rembours*", "!attends votre rembours*", "!meilleurs delais",
        "!dans les delais", "!delai de retractation", "!delai de livraison", "!delais de livraison",
    ),
    keywords_en=(
        "wait", "waits", "waited", "waiting", "waiting time", "on hold", "hold music", "held",
        "kept me on hold", "queue", "queued", "queuing", "queueing", "for hours", "an hour", "hours on",
        "hours in", "hours waiting", "hour wait", "hours wait", "waited ... hours",
        "minutes on the phone", "minutes on hold", "waited ... minutes", "for ... minutes",
        "~for weeks", "~for days", "~for months", "~weeks ago", "~days ago", "~months ago", "~it s been ... weeks",
        "~it s been ... days", "~it s been ... months", "queued for", "half an hour", "callback", "unanswered",
        "still waiting", "no answer", "no response",
        "no reply", "nobody answers", "nobody answered", "no one answered", "nobody picks up",
        "can t get through", "cant get through", "couldn t get through", "unreachable",
        "called me back", "called back", "got back to me",
        "heard back", "haven t heard", "still haven t heard", "no update", "no news", "took ages", "ages",
        "took forever", "forever", "long wait", "too long",
        "!expect", "!can t wait", "!cant wait", "!wait and see", "!opening hours", "!business hours", "!office hours",
    ),
)

_AFTER_SALES = Topic(
    "after_sales", "Service après-vente", "After-sales service",
    keywords_fr=(
        "sav", "s a v", "service apres vente", "apres vente", "reparation", "reparations", "reparer",
        "repare", "reparee", "repares", "reparez", "retour", "retours", "retourner", "retourne",
        "retournee", "renvoyer", "renvoye", "renvoyee", "renvoi", "garantie", "sous garantie",
        "extension de garantie", "echange", "echanger", "echange standard", "remplacement", "remplacer",
        "remplace", "remplacee", "piece detachee", "pieces detachees", "bon de retour",
        "etiquette de retour", "intervention", "depannage", "depanneur", "service technique",
        "retractation", "reprise", "expertise",
        "!de retour", "!en retour", "!retour d experience", "!par retour", "!retour client",
        "!sans retour", "!aucun retour", "!pas de retour", "!retour d information", "!renvoyer une copie",
        "!renvoyer ... facture", "!renvoyer ... mail", "!renvoyer ... code",
    ),
    keywords_en=(
        "after sales", "aftersales", "repair*", "return", "returns", "returned", "returning",
        "send it back", "sent it back", "send back", "sent back", "send them back", "warranty",
        "warranties", "guarantee", "guaranteed", "exchange", "exchanged", "replacement", "replace",
        "replaced", "replacing", "spare part", "spare parts", "rma", "return label", "returns label", "service centre",
        "service center", "engineer visit", "fix", "fixed", "fixing", "tech support", "technical support",
        "technical service",
        "refurbish*",
        "!in return", "!return my call", "!returned my call", "!return my calls", "!return call",
        "!return the call",
    ),
)

_WEBSITE = Topic(
    "website", "Site et application", "Website and app",
    keywords_fr=(
        "site", "site internet", "site web", "sur le site", "application", "applications", "appli",
        "app", "en ligne", "compte en ligne", "espace client", "espace personnel", "identifiant",
        "identifiants", "mot de passe", "se connecter", "me connecter", "connexion", "deconnecte",
        "deconnexion", "bug", "bugs", "bugue", "beug", "beugue", "buggue", "plante", "crash", "page",
        "bouton", "panier", "formulaire", "lien", "mise a jour", "telecharger", "inscription",
        "s inscrire", "navigateur", "captcha", "code de verification", "code de confirmation",
        "authentification", "login", "interface", "chatbot", "tchat", "chat en ligne",
        "~mon compte", "~compte client",
        "!sur site", "!chat",
    ),
    keywords_en=(
        "website", "web site", "site", "app", "apps", "application", "online", "online account",
        "log in", "login", "logging in", "logged in", "log into", "sign in", "signing in", "signed in",
        "password", "username", "reset my password", "bug", "bugs", "buggy", "glitch", "glitches",
        "crash*", "page", "webpage", "button", "checkout", "basket", "cart", "browser", "error message",
        "portal", "customer portal", "the update", "an update", "app update", "software update",
        "latest update", "download", "verification code", "two factor",
        "interface", "online form", "web form", "chatbot", "live chat", "won t load", "doesn t load",
        "loading", "down again", "is down",
        "~my account", "~account",
        "!bank account", "!on site", "!into account", "!take into account",
    ),
)

DEFAULT_TAXONOMY: tuple[Topic, ...] = (_DELIVERY, _BILLING, _PRODUCT, _STAFF, _WAITING, _AFTER_SALES, _WEBSITE)
