# SCRATCH (to delete): run the story with a throwaway French catalog.
from pathlib import Path
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from tests.browser.test_onboarding import test_onboarding_story  # noqa: F401

FR = {
    "Calls": "Appels", "Log in": "Se connecter", "Log in to Écoute": "Connexion à Écoute",
    "E-mail": "Adresse e-mail", "Password": "Mot de passe", "Role": "Rôle",
    "Role of %(email)s": "Rôle de %(email)s", "Suspend": "Suspendre", "Reactivate": "Réactiver",
    "Suspended": "Suspendue", "Active": "Active", "Quality manager": "Responsable qualité",
    "You are invited to join %(company)s on Écoute": "Invitation à rejoindre %(company)s sur Écoute",
    "Company name": "Nom de l’entreprise", "Role changed.": "Rôle modifié.",
    "Your company's access to Écoute is suspended. Contact your administrator.":
        "L’accès de votre entreprise à Écoute est suspendu. Contactez votre administrateur.",
    "People of %(company)s": "Personnes de %(company)s", "Invited": "Invitée",
    "New password": "Nouveau mot de passe", "New password, again": "Nouveau mot de passe, à nouveau",
    "Log out": "Se déconnecter",
}

@pytest.fixture
def app(app, tmp_path):
    cat = Catalog(locale="fr")
    for k, v in FR.items():
        cat.add(k, v)
    cat.add(("%(num)d day", "%(num)d days"), ("%(num)d jour", "%(num)d jours"))
    d = tmp_path / "tr" / "fr" / "LC_MESSAGES"
    d.mkdir(parents=True)
    with open(d / "messages.mo", "wb") as f:
        write_mo(f, cat)
    app.extensions["babel"].translation_directories = [str(tmp_path / "tr")]
    return app
