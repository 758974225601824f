"""The family's path through the demo portal, step by step, in a real browser.

Each step acts as a parent would (following links, choosing in lists, ticking boxes, pressing buttons) and
returns the text of the page it reached. The browser tests check those texts; the screenshots of
docs/portal.md are taken at the same steps, so the pictures show what the tests saw.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from .browser import shoot

__all__ = ["AgentVisit", "FamilyVisit"]


class _Visit:
    """A visit in the browser: ``base`` is the portal's URL; with ``shots``, each step saves a screenshot
    there named after the step and ``suffix`` (``-desktop``, ``-390``)."""

    def __init__(self, driver: WebDriver, base: str, *, shots: Path | None = None, suffix: str = "") -> None:
        self.driver = driver
        self.base = base
        self.shots = shots
        self.suffix = suffix
        self._size = driver.get_window_size()

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def shot(self, name: str) -> None:
        if self.shots is not None:
            shoot(self.driver, self.shots / f"{name}{self.suffix}.png")
            self.driver.set_window_size(self._size["width"], self._size["height"])

    def _reached(self, path: str) -> None:
        WebDriverWait(self.driver, 10).until(lambda driver: path in driver.current_url)

    def _navigate(self, action: Callable[[], None]) -> None:
        """Do what leads to another page, and wait until the browser has left this one."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        action()
        wait = WebDriverWait(self.driver, 10, ignored_exceptions=[WebDriverException])
        wait.until(expected_conditions.staleness_of(old))
        wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")
        wait.until(lambda driver: driver.find_element(By.TAG_NAME, "footer").is_displayed())

    def _button(self, text: str) -> None:
        self._navigate(self.driver.find_element(By.XPATH, f'//button[normalize-space()="{text}"]').click)

    def _link(self, text: str) -> None:
        self._navigate(self.driver.find_element(By.PARTIAL_LINK_TEXT, text).click)

    def sign_out(self) -> str:
        self._button("Se déconnecter")
        return self.text()

    def unlabelled_controls(self) -> list[str]:
        """The visible form controls of the page with no accessible name (a label, aria-label or text)."""
        found: list[str] = self.driver.execute_script(
            """
            return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !(el.tagName === 'BUTTON' && el.textContent.trim()))
              .map(el => el.outerHTML);
            """
        )
        return found

    def _date(self, field: str, value: str) -> None:
        # A date field's typing order depends on the browser's locale: set its value as a picker would.
        element = self.driver.find_element(By.ID, field)
        self.driver.execute_script("arguments[0].value = arguments[1]", element, value)


class FamilyVisit(_Visit):
    """One parent's visit, step by step."""

    def sign_in(self, email: str) -> str:
        """The development login: the activated account's e-mail."""
        self.driver.get(self.base + "/connexion")
        self.driver.find_element(By.XPATH, f"//label[normalize-space()='{email}']").click()
        self._button("Se connecter")
        return self.text()

    def activate(self, email: str) -> str:
        """Open the activation e-mail from the development outbox, follow its link, register."""
        self.driver.get(self.base + "/dev/courriels")
        self._link("Activer le compte")
        self.shot("activation")
        self.driver.find_element(By.ID, "courriel").send_keys(email)
        self._button("Enregistrer")
        self._reached("/reservations")
        return self.text()

    def show(self, service: str, weeks_ahead: int = 0) -> str:
        """Choose the service in the list, then move ``weeks_ahead`` weeks on."""
        Select(self.driver.find_element(By.ID, "service")).select_by_visible_text(service)
        self._button("Afficher")
        for _ in range(weeks_ahead):
            self._link("Semaine suivante")
        return self.text()

    def add_period(self, prestation: str, start: str, end: str, weekdays: set[str]) -> str:
        """The period view: a prestation, two dates, the weekdays ticked; « Ajouter la période au panier »."""
        Select(self.driver.find_element(By.ID, "periode-prestation")).select_by_visible_text(prestation)
        for field, value in (("periode-du", start), ("periode-au", end)):
            self._date(field, value)
        for box in self.driver.find_elements(By.CSS_SELECTOR, "input[name='jours']"):
            label = self.driver.find_element(By.CSS_SELECTOR, f"label[for='{box.get_attribute('id')}']").text
            if box.is_selected() != (label in weekdays):
                box.click()
        self._button("Ajouter la période au panier")
        return self.text()

    def validate(self, name: str = "panier") -> str:
        """« Valider », reached with the keyboard: focus the button, press Enter."""
        if self.shots is not None:
            self.shot(name)
        button = self.driver.find_element(By.XPATH, "//button[normalize-space()='Valider']")
        self.driver.execute_script("arguments[0].focus()", button)
        self._navigate(lambda: button.send_keys(Keys.ENTER))
        self._reached("/panier/resultat")
        return self.text()

    def pay_online(self, link: Callable[[], None], name: str) -> str:
        """Go to the (development) PayFiP page and pay there; the page the portal returns to."""
        self.shot(name)
        link()
        self._reached("/dev/payfip/")
        self.shot("payfip")
        payer = self.driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Payer ')]")
        self._navigate(payer.click)
        self._reached("/paiement/retour")
        self.shot(f"{name}-retour")
        return self.text()

    def pay_basket(self) -> str:
        return self.pay_online(lambda: self._link("en ligne"), "resultat-prepaye")

    def invoices(self) -> str:
        self._link("Mes factures")
        return self.text()

    def pay_invoices(self, count: int) -> str:
        """Tick the first ``count`` invoices (by their labels), « Payer les factures sélectionnées », pay."""
        for label in self.driver.find_elements(By.CSS_SELECTOR, "label[for^='facture-']")[:count]:
            label.click()
        return self.pay_online(lambda: self._button("Payer les factures sélectionnées"), "factures")

    def declare_absence(self, start: str, end: str, reason: str, proof: Path | None = None) -> str:
        """« Signaler une absence »: dates, a reason, the proof's file if any; « Signaler l'absence »."""
        self._link("Signaler une absence")
        self._date("absence-du", start)
        self._date("absence-au", end)
        Select(self.driver.find_element(By.ID, "absence-motif")).select_by_visible_text(reason)
        if proof is not None:
            self.driver.find_element(By.ID, "absence-justificatif").send_keys(str(proof))
        self._button("Signaler l'absence")
        self.shot("absence")
        return self.text()


class AgentVisit(_Visit):
    """An agent's visit: sign in with a role, then the back office's pages."""

    def sign_in(self, role: str) -> str:
        """The development login: the role's label, « Se connecter comme agent »."""
        self.driver.get(self.base + "/connexion")
        self.driver.find_element(By.XPATH, f"//label[normalize-space()='{role}']").click()
        self._button("Se connecter comme agent")
        return self.text()

    def record_attendance(self, service: str, day: str, status: str) -> str:
        """The day's sheet of ``service``, ``status`` for its first child; « Enregistrer le pointage »."""
        self._link("Pointage")
        Select(self.driver.find_element(By.ID, "pointage-service")).select_by_visible_text(service)
        self._date("pointage-jour", day)
        self._button("Afficher")
        Select(self.driver.find_element(By.ID, "statut-1")).select_by_visible_text(status)
        self.shot("pointage")
        self._button("Enregistrer le pointage")
        return self.text()

    def run_month_end(self, month: str) -> str:
        """Facturation: the month, « Vérifier avant de facturer », then « Lancer la facturation »."""
        self._link("Facturation")
        self._date("facturation-mois", month)
        self._button("Vérifier avant de facturer")
        self._date("facturation-mois", month)
        self._button("Lancer la facturation")
        self.shot("facturation")
        return self.text()
