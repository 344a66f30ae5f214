"""The demo city's report categories, as Open311 service definitions.

Shaped exactly like a ``civicpulse services load`` file, so they double as an
example of one. Severities weight the hotspot analysis; lead paint is a hazard
inside a home, so its exact points are never public.
"""

from __future__ import annotations

from typing import Any


def _values(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "name": name} for key, name in pairs]


DEMO_SERVICES: list[dict[str, Any]] = [
    {
        "service_code": "flooding",
        "service_name": "Street flooding",
        "description": "Standing water on a street, sidewalk or underpass after rain or a tide.",
        "group": "Water",
        "keywords": "flood,water,storm,tide",
        "severity": 2.0,
        "duplicate_radius_m": 100,
        "privacy": "public",
        "attributes": [
            {"code": "depth_cm", "datatype": "number", "required": True, "order": 1,
             "description": "About how deep is the water (cm)?",
             "datatype_description": "Centimetres; ankle-deep is about 10."},
            {"code": "passable", "datatype": "singlevaluelist", "required": True, "order": 2,
             "description": "Can cars get through?",
             "values": _values(("yes", "Yes"), ("slow", "Only slowly"), ("no", "No, blocked"))},
            {"code": "property_affected", "datatype": "singlevaluelist", "required": False,
             "order": 3, "description": "Is water entering homes or businesses?",
             "values": _values(("no", "No"), ("yards", "Yards or garages"),
                               ("buildings", "Buildings"))},
        ],
    },
    {
        "service_code": "lead_paint",
        "service_name": "Lead paint hazard",
        "description": "Peeling or chipping paint in or on a home that may contain lead.",
        "group": "Housing",
        "keywords": "lead,paint,peeling,child,health",
        "severity": 3.0,
        "duplicate_radius_m": 20,
        "privacy": "aggregated",
        "attributes": [
            {"code": "built_before_1978", "datatype": "singlevaluelist", "required": True,
             "order": 1, "description": "Was the building built before 1978?",
             "values": _values(("yes", "Yes"), ("no", "No"), ("unknown", "Don't know"))},
            {"code": "surfaces", "datatype": "multivaluelist", "required": False, "order": 2,
             "description": "Where is the paint peeling?",
             "values": _values(("windows", "Windows"), ("doors", "Doors"), ("porch", "Porch"),
                               ("walls", "Interior walls"), ("exterior", "Exterior siding"))},
            {"code": "children_under_6", "datatype": "singlevaluelist", "required": False,
             "order": 3, "description": "Do children under 6 live or stay there?",
             "values": _values(("yes", "Yes"), ("no", "No"), ("prefer_not", "Prefer not to say"))},
            {"code": "tenure", "datatype": "singlevaluelist", "required": False, "order": 4,
             "description": "Do you rent or own?",
             "values": _values(("rent", "Rent"), ("own", "Own"), ("other", "Other"))},
        ],
    },
    {
        "service_code": "blocked_drain",
        "service_name": "Blocked storm drain",
        "description": "A storm drain or catch basin covered or clogged by leaves, trash or silt.",
        "group": "Water",
        "keywords": "drain,catch basin,clogged,leaves",
        "severity": 1.5,
        "duplicate_radius_m": 40,
        "privacy": "public",
        "attributes": [
            {"code": "debris", "datatype": "multivaluelist", "required": True, "order": 1,
             "description": "What is blocking it?",
             "values": _values(("leaves", "Leaves"), ("trash", "Trash"), ("silt", "Mud or silt"),
                               ("grate_damaged", "Broken grate"))},
            {"code": "water_standing", "datatype": "singlevaluelist", "required": False,
             "order": 2, "description": "Is water standing around it now?",
             "values": _values(("yes", "Yes"), ("no", "No"))},
        ],
    },
    {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": "A hole or sunken patch in the road surface.",
        "group": "Streets",
        "keywords": "pothole,road,asphalt,hole",
        "severity": 1.0,
        "duplicate_radius_m": 30,
        "privacy": "public",
        "attributes": [
            {"code": "size", "datatype": "singlevaluelist", "required": True, "order": 1,
             "description": "How big is it?",
             "values": _values(("small", "Smaller than a plate"), ("medium", "Up to a tyre"),
                               ("large", "Bigger than a tyre"))},
            {"code": "lane", "datatype": "singlevaluelist", "required": False, "order": 2,
             "description": "Where on the road?",
             "values": _values(("travel", "Travel lane"), ("bike", "Bike lane"),
                               ("crosswalk", "Crosswalk"), ("shoulder", "Shoulder or gutter"))},
        ],
    },
    {
        "service_code": "illegal_dumping",
        "service_name": "Illegal dumping",
        "description": "Furniture, tyres, construction debris or trash left on public land.",
        "group": "Sanitation",
        "keywords": "dumping,trash,debris,tyres,mattress",
        "severity": 1.2,
        "duplicate_radius_m": 50,
        "privacy": "public",
        "attributes": [
            {"code": "waste_type", "datatype": "multivaluelist", "required": True, "order": 1,
             "description": "What was dumped?",
             "values": _values(("furniture", "Furniture or mattresses"), ("tyres", "Tyres"),
                               ("construction", "Construction debris"),
                               ("household", "Household trash"),
                               ("hazardous", "Paint, oil or chemicals"))},
            {"code": "volume", "datatype": "singlevaluelist", "required": False, "order": 2,
             "description": "How much?",
             "values": _values(("bags", "A few bags"), ("pickup", "A pickup load"),
                               ("truck", "A truck load or more"))},
        ],
    },
    {
        "service_code": "streetlight_out",
        "service_name": "Streetlight out",
        "description": "A streetlight that is dark, flickering or on during the day.",
        "group": "Streets",
        "keywords": "streetlight,light,dark,lamp",
        "severity": 0.8,
        "duplicate_radius_m": 25,
        "privacy": "public",
        "attributes": [
            {"code": "state", "datatype": "singlevaluelist", "required": True, "order": 1,
             "description": "What is wrong with it?",
             "values": _values(("out", "Completely out"), ("flickering", "Flickering"),
                               ("day_burning", "On during the day"))},
            {"code": "pole_number", "datatype": "string", "required": False, "order": 2,
             "description": "Pole number, if you can see one"},
        ],
    },
]


def _spanish(name: str, description: str, group: str,
             questions: dict[str, tuple[str, dict[str, str]]]) -> dict[str, Any]:
    return {"language": "es", "service_name": name, "description": description, "group": group,
            "attributes": [{"code": code, "description": text,
                            **({"values": [{"key": k, "name": v} for k, v in values.items()]}
                               if values else {})}
                           for code, (text, values) in questions.items()]}


#: The demo city speaks Spanish too: a ``translations`` block as a city would write it.
_SPANISH = {
    "flooding": _spanish(
        "Calle inundada", "Agua estancada en una calle, acera o paso inferior tras la lluvia o "
        "la marea.", "Agua", {
            "depth_cm": ("¿Qué profundidad tiene el agua, más o menos (cm)?", {}),
            "passable": ("¿Pueden pasar los coches?", {
                "yes": "Sí", "slow": "Solo despacio", "no": "No, está cortada"}),
            "property_affected": ("¿Entra agua en viviendas o negocios?", {
                "no": "No", "yards": "En patios o garajes", "buildings": "En edificios"}),
        }),
    "lead_paint": _spanish(
        "Peligro de pintura con plomo", "Pintura que se pela o desconcha, dentro o fuera de una "
        "vivienda, y que puede contener plomo.", "Vivienda", {
            "built_before_1978": ("¿Se construyó el edificio antes de 1978?", {
                "yes": "Sí", "no": "No", "unknown": "No lo sé"}),
            "surfaces": ("¿Dónde se pela la pintura?", {
                "windows": "Ventanas", "doors": "Puertas", "porch": "Porche",
                "walls": "Paredes interiores", "exterior": "Revestimiento exterior"}),
            "children_under_6": ("¿Viven o pasan tiempo allí niños menores de 6 años?", {
                "yes": "Sí", "no": "No", "prefer_not": "Prefiero no decirlo"}),
            "tenure": ("¿Alquila o es propietario?", {
                "rent": "Alquilo", "own": "Soy propietario", "other": "Otro"}),
        }),
    "blocked_drain": _spanish(
        "Alcantarilla obstruida", "Un desagüe pluvial tapado por hojas, basura o sedimentos.",
        "Agua", {
            "debris": ("¿Qué lo obstruye?", {
                "leaves": "Hojas", "trash": "Basura", "silt": "Barro o sedimentos",
                "grate_damaged": "Rejilla rota"}),
            "water_standing": ("¿Hay agua estancada alrededor ahora?", {"yes": "Sí", "no": "No"}),
        }),
    "pothole": _spanish(
        "Bache", "Un agujero o hundimiento en el firme de la calzada.", "Calles", {
            "size": ("¿Qué tamaño tiene?", {
                "small": "Más pequeño que un plato", "medium": "Hasta un neumático",
                "large": "Más grande que un neumático"}),
            "lane": ("¿En qué parte de la calzada?", {
                "travel": "Carril de circulación", "bike": "Carril bici",
                "crosswalk": "Paso de peatones", "shoulder": "Arcén o cuneta"}),
        }),
    "illegal_dumping": _spanish(
        "Vertido ilegal", "Muebles, neumáticos, escombros o basura abandonados en terreno "
        "público.", "Limpieza", {
            "waste_type": ("¿Qué se ha tirado?", {
                "furniture": "Muebles o colchones", "tyres": "Neumáticos",
                "construction": "Escombros de obra", "household": "Basura doméstica",
                "hazardous": "Pintura, aceite o productos químicos"}),
            "volume": ("¿Cuánto?", {
                "bags": "Unas pocas bolsas", "pickup": "Una camioneta",
                "truck": "Un camión o más"}),
        }),
    "streetlight_out": _spanish(
        "Farola apagada", "Una farola apagada, que parpadea o que está encendida de día.",
        "Calles", {
            "state": ("¿Qué le pasa?", {
                "out": "Totalmente apagada", "flickering": "Parpadea",
                "day_burning": "Encendida de día"}),
            "pole_number": ("Número del poste, si lo ve", {}),
        }),
}
for _service in DEMO_SERVICES:
    _service["translations"] = [_SPANISH[_service["service_code"]]]
