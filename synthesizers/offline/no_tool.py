"""Requests no tool applies to, with the direct answer a good assistant gives — enough distinct ones that a large
run keeps its no-tool share after deduplication.

Small talk and general-knowledge pairs come from ``no_tool.yaml``; the rest are generated from small fact tables
(capitals, authors, translations) and from word puzzles whose answers are computed (spelling backwards, counting
letters), so every answer is correct by construction.
"""

from __future__ import annotations

import random
from functools import lru_cache
from importlib import resources

import yaml

__all__ = ["no_tool_pair"]

_CAPITALS = {
    "France": "Paris", "Japan": "Tokyo", "Canada": "Ottawa", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo",
    "Egypt": "Cairo", "Chile": "Santiago", "Poland": "Warsaw", "Vietnam": "Hanoi", "Portugal": "Lisbon",
    "Argentina": "Buenos Aires", "Ireland": "Dublin", "Morocco": "Rabat", "Thailand": "Bangkok", "Greece": "Athens",
    "Ghana": "Accra", "Sweden": "Stockholm", "Colombia": "Bogotá", "Finland": "Helsinki", "Austria": "Vienna",
    "Nepal": "Kathmandu", "Hungary": "Budapest", "Cuba": "Havana", "Iceland": "Reykjavík", "Senegal": "Dakar",
    "Denmark": "Copenhagen", "Mexico": "Mexico City", "Turkey": "Ankara", "New Zealand": "Wellington",
    "South Korea": "Seoul", "Ethiopia": "Addis Ababa", "Belgium": "Brussels", "Czechia": "Prague",
    "Indonesia": "Jakarta", "Uruguay": "Montevideo", "Philippines": "Manila", "Romania": "Bucharest",
}
_AUTHORS = {
    "Pride and Prejudice": "Jane Austen", "1984": "George Orwell", "Don Quixote": "Miguel de Cervantes",
    "War and Peace": "Leo Tolstoy", "One Hundred Years of Solitude": "Gabriel García Márquez",
    "The Odyssey": "Homer", "Moby-Dick": "Herman Melville", "Frankenstein": "Mary Shelley",
    "The Trial": "Franz Kafka", "Beloved": "Toni Morrison", "Things Fall Apart": "Chinua Achebe",
    "The Little Prince": "Antoine de Saint-Exupéry", "Crime and Punishment": "Fyodor Dostoevsky",
    "Mrs Dalloway": "Virginia Woolf", "The Great Gatsby": "F. Scott Fitzgerald", "Dracula": "Bram Stoker",
    "Jane Eyre": "Charlotte Brontë", "The Name of the Rose": "Umberto Eco", "Norwegian Wood": "Haruki Murakami",
    "Invisible Man": "Ralph Ellison", "The Stranger": "Albert Camus", "Middlemarch": "George Eliot",
}
_TRANSLATIONS = {
    "water": ("agua", "eau"), "house": ("casa", "maison"), "book": ("libro", "livre"), "friend": ("amigo", "ami"),
    "cat": ("gato", "chat"), "bread": ("pan", "pain"), "sun": ("sol", "soleil"), "tree": ("árbol", "arbre"),
    "city": ("ciudad", "ville"), "night": ("noche", "nuit"), "apple": ("manzana", "pomme"), "sea": ("mar", "mer"),
    "window": ("ventana", "fenêtre"), "cheese": ("queso", "fromage"), "bird": ("pájaro", "oiseau"),
    "morning": ("mañana", "matin"), "flower": ("flor", "fleur"), "dog": ("perro", "chien"), "key": ("llave", "clé"),
}
_WORDS = ("keyboard", "lantern", "umbrella", "notebook", "sunflower", "backpack", "volcano", "harbor", "compass",
          "pineapple", "elephant", "marathon", "calendar", "blanket", "triangle", "saxophone", "avalanche",
          "horizon", "labyrinth", "carousel", "meadow", "telescope", "whistle", "glacier", "orchard", "puzzle",
          "cinnamon", "dolphin", "firework", "galaxy", "hammock", "igloo", "jigsaw", "kettle", "lighthouse")


@lru_cache(maxsize=1)
def _chat_pairs() -> list[tuple[str, str]]:
    text = resources.files("synthesizers.offline").joinpath("no_tool.yaml").read_text(encoding="utf-8")
    return [(p["q"], p["a"]) for p in yaml.safe_load(text)]


def _capital(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(_CAPITALS))
    q = rng.choice(("What's the capital of {c}?", "Which city is the capital of {c}?", "Remind me: capital of {c}?",
                    "What is {c}'s capital city?")).format(c=country)
    return q, f"The capital of {country} is {_CAPITALS[country]}."


def _author(rng: random.Random) -> tuple[str, str]:
    book = rng.choice(sorted(_AUTHORS))
    q = rng.choice(("Who wrote {b}?", "Who is the author of {b}?", "Which writer gave us {b}?")).format(b=book)
    return q, f"{book} was written by {_AUTHORS[book]}."


def _translation(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(sorted(_TRANSLATIONS))
    lang, i = rng.choice((("Spanish", 0), ("French", 1)))
    q = rng.choice(("How do you say '{w}' in {l}?", "Translate '{w}' into {l}.", "What's the {l} word for {w}?"))
    return q.format(w=word, l=lang), f"In {lang}, '{word}' is '{_TRANSLATIONS[word][i]}'."


def _backwards(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(_WORDS)
    q = rng.choice(("Spell '{w}' backwards.", "What is '{w}' written in reverse?", "Reverse the letters of {w}."))
    return q.format(w=word), f"'{word}' backwards is '{word[::-1]}'."


def _letters(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(_WORDS)
    q = rng.choice(("How many letters are in the word '{w}'?", "Count the letters in {w}.")).format(w=word)
    return q, f"'{word}' has {len(word)} letters."


_GENERATORS = (_capital, _author, _translation, _backwards, _letters)


def no_tool_pair(rng: random.Random) -> tuple[str, str, str]:
    """(request, answer, phrasing id) for a no-tool sample."""
    if rng.random() < 0.25:
        q, a = rng.choice(_chat_pairs())
        return q, a, "no_tool:chat"
    gen = rng.choice(_GENERATORS)
    q, a = gen(rng)
    return q, a, f"no_tool:{gen.__name__.lstrip('_')}"
