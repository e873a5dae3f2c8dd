"""The Spanish texts of the chat: what the assistant asks, answers and explains."""
import re

from chat.catalogue import Catalogue, Pattern, SectionTexts, StepTexts


def _p(regex: str, reply: str) -> Pattern:
    return Pattern(re.compile(regex, re.IGNORECASE), reply)


CATALOGUE = Catalogue(
    language="es",
    steps={
        "artist_name": StepTexts(
            label="Nombre artístico",
            question="Para empezar, ¿cuál es tu nombre artístico?",
            hint="Tal como quieres que aparezca en carteles. Ej.: Luna Roja",
            acknowledgements=(
                "¡Un placer, {value}!",
                "¡Encantado de conocerte, {value}!",
                "{value}: suena a cartel de festival.",
            ),
            patterns=(
                _p(r"^(dj|mc)\b", "{value}, ¡me gusta! Nombre anotado."),
                _p(r"\b(band|banda|trío|trio|cuarteto|orquesta|collective|colectivo)\b",
                   "¡Genial, {value}! Anotado el nombre del proyecto."),
            ),
        ),
        "genres": StepTexts(
            label="Géneros",
            question="¿Qué géneros o estilos definen tu música? Puedes poner hasta cinco, separados por comas.",
            hint="Ej.: house, techno melódico, disco",
            acknowledgements=(
                "{value}: anotado, {name}.",
                "Perfecto, {value}. Ya me hago una idea de tu sonido.",
            ),
            patterns=(
                _p(r"techno", "Techno en el presskit: los promotores lo buscan mucho. Anotado: {value}."),
                _p(r"house|disco", "¡Buen groove! Anotado: {value}."),
                _p(r"flamenco|rumba|copla", "Raíces con carácter: {value}. Anotado."),
                _p(r"reggaet|urban|trap|dembow|hip ?hop|rap", "Sonido urbano: {value}. Anotado."),
                _p(r"rock|punk|metal|indie", "Guitarras al frente: {value}. Anotado."),
                _p(r"jazz|soul|funk|blues", "Mucho oficio en esos estilos: {value}. Anotado."),
            ),
            suggestions=("House", "Techno", "Indie", "Pop", "Reggaetón", "Flamenco", "Jazz", "Drum & Bass"),
        ),
        "experience": StepTexts(
            label="Trayectoria",
            question="¿Cuánto tiempo llevas en la música? Dime los años o desde qué año.",
            hint="Ej.: 8 años, o desde 2016",
            acknowledgements=(
                "Anotado: {value}.",
                "Perfecto: {value}. La experiencia suma mucho en un presskit.",
            ),
            patterns=(
                _p(r"\b(1\d|[2-9]\d)\s*(años|years)|\b(19[5-9]\d|200\d)\b",
                   "¡Toda una trayectoria! Anotado: {value}."),
                _p(r"\b([1-3]|un|una|dos|tres|medio)\s*(año|años|meses|mes)\b|\b202[2-9]\b",
                   "¡Buen comienzo! Todo el mundo empezó alguna vez. Anotado: {value}."),
            ),
            suggestions=("1 año", "3 años", "5 años", "10 años", "Desde 2015"),
        ),
        "location": StepTexts(
            label="Base y escenarios",
            question="¿Desde qué ciudad trabajas y dónde sueles tocar?",
            hint="Ej.: Madrid; toco en salas y festivales de España y Portugal",
            acknowledgements=("Anotado: {value}.", "Perfecto, {value}. Así los promotores saben dónde encontrarte."),
            patterns=(
                _p(r"festival", "Festivales en tu mapa: eso vende. Anotado: {value}."),
                _p(r"gira|tour|internacional|europa|latam|latinoam",
                   "Con proyección fuera: anotado, {value}."),
            ),
            suggestions=("Madrid", "Barcelona", "Valencia", "Sevilla", "Ciudad de México", "Buenos Aires"),
        ),
        "story": StepTexts(
            label="Tu historia",
            question=(
                "Ahora tu historia: cómo empezaste, tus influencias y tus logros más importantes. "
                "Con unas frases basta."
            ),
            hint="Entre 20 y 2000 caracteres. Ej.: Empecé pinchando vinilos de mi padre…",
            acknowledgements=(
                "Gracias por contarlo, {name}. Es la base de tu biografía.",
                "Muy buena historia, {name}. La guardo para tu biografía.",
            ),
        ),
        "links": StepTexts(
            label="Redes y música",
            question=(
                "¿Dónde pueden escucharte y seguirte? Pega tus enlaces (Instagram, SoundCloud, "
                "Spotify, YouTube, Bandcamp, web) o tu @usuario, separados por espacios o comas."
            ),
            hint="Ej.: @lunaroja soundcloud.com/lunaroja",
            acknowledgements=("Enlaces guardados: {value}.", "Perfecto, ya tengo dónde escucharte."),
        ),
        "booking_email": StepTexts(
            label="Contacto de booking",
            question="Por último, ¿a qué email deben escribir para contratarte?",
            hint="Ej.: booking@lunaroja.com",
            acknowledgements=("Email de booking guardado: {value}.",),
        ),
    },
    greeting=(
        "¡Hola! Soy el asistente de ÍTERA y vamos a crear tu presskit juntos, en 7 pasos. "
        "Tus respuestas se guardan en cuanto las envías."
    ),
    reask="{reason} {question}",
    edit_ask="Vamos a cambiar «{label}». Ahora mismo es: {value}. {question}",
    edit_done="Cambiado: «{label}» ahora es {value}. Sigamos donde lo dejamos: {question}",
    edit_done_complete="Cambiado: «{label}» ahora es {value}. Tu presskit está actualizado.",
    resume="Sigamos donde lo dejamos: {question}",
    complete=(
        "¡Listo, {name}! Ya tengo los 7 pasos de tu presskit. Revisa tus respuestas en el panel "
        "«Tu presskit» y toca «Editar» en cualquiera si quieres cambiarla."
    ),
    already_complete=(
        "Tu presskit ya está completo, {name}. Si quieres cambiar algo, toca «Editar» junto a "
        "la respuesta en el panel «Tu presskit»."
    ),
    restart="Empezamos de nuevo. {question}",
    emergency=(
        "Anotado. Sigamos.",
        "Perfecto, guardado. Continuemos.",
        "Recibido. Vamos con el siguiente punto.",
    ),
    invalid={
        "show_date": "No entiendo la fecha: escríbela con día, mes y año, p. ej. 14/02/2027.",
        "show_past": "Esa fecha ya ha pasado: aquí van las próximas.",
        "show_parts": "Necesito la fecha, la sala y la ciudad, separadas por comas.",
        "quote_parts": "Necesito la cita y quién la escribió, separadas por un guion: «cita» — medio.",
        "too_long": "Es un poco largo: como máximo {max} caracteres.",
        "section_full": "Ya tienes {max}; quita alguna desde el panel para añadir otra.",
        "name_length": "El nombre artístico debe tener entre 2 y 50 caracteres.",
        "genres_empty": "Necesito al menos un género.",
        "genres_too_many": "Has puesto {count} géneros; elige como máximo 5, los que mejor te definan.",
        "genre_too_long": "«{genre}» es demasiado largo para un género (máximo 40 caracteres).",
        "experience_unclear": "No he encontrado una duración ni un año en tu respuesta.",
        "experience_future_year": "{year} todavía no ha llegado.",
        "experience_too_long": "Con una frase corta basta (máximo 200 caracteres).",
        "location_empty": "Necesito al menos tu ciudad.",
        "location_too_long": "Resúmelo un poco, por favor (máximo 200 caracteres).",
        "story_too_short": "Tu historia es un poco corta ({length} caracteres); cuéntame al menos 20.",
        "story_too_long": "Tu historia tiene {length} caracteres; el máximo es 2000. Resúmela un poco.",
        "links_empty": "Necesito al menos un enlace o un @usuario.",
        "links_too_many": "Has puesto {count} enlaces; con 10 como máximo basta.",
        "link_invalid": "«{link}» no parece un enlace válido ni un @usuario.",
        "email_invalid": "Eso no parece un email válido.",
        "email_too_long": "Ese email es demasiado largo (máximo {max} caracteres). ¿Tienes uno más corto para booking?",
    },
    sections={
        "dates": SectionTexts(
            label="Próximas fechas", chip="Fechas",
            question=("¿Qué fechas tienes? Escribe una por mensaje: fecha, sala y ciudad, separadas por comas, y el "
                      "enlace a las entradas si lo hay."),
            hint="Ej.: 14/02/2027, Sala Apolo, Barcelona, https://entradas.example/apolo",
            saved="Anotada: {value}. ¿Otra fecha? Escríbela, o di «listo» para terminar.",
            keywords=("fecha", "fechas", "bolos", "conciertos", "gira", "agenda"),
        ),
        "quotes": SectionTexts(
            label="Prensa", chip="Citas de prensa",
            question="Pega una cita de prensa y, detrás de un guion, quién la escribió.",
            hint="Ej.: «Una sesión hipnótica de principio a fin» — Mixmag",
            saved="Anotada: {value}. ¿Otra cita? Pégala, o di «listo» para terminar.",
            keywords=("cita", "citas", "prensa", "reseña", "reseñas"),
        ),
        "sounds_like": SectionTexts(
            label="Suena a", chip="Suena a",
            question="¿A quién suenas? Nombra dos o tres artistas que le sirvan de referencia a un programador.",
            hint="Ej.: Bicep, Four Tet, Peggy Gou",
            saved="Anotado: suenas a {value}.",
            keywords=("suena", "suenas", "sonido", "referencias"),
        ),
        "rider": SectionTexts(
            label="Rider técnico", chip="Rider técnico",
            question="Escribe tu rider técnico: el equipo que necesitas en cabina o en el escenario.",
            hint="Ej.: 2 CDJ-3000, mesa DJM-900NXS2, 2 monitores de cabina",
            saved="Anotado tu rider técnico.",
            keywords=("rider", "técnico", "equipo"),
        ),
    },
    sections_offer=("¿Quieres añadir algo más? Fechas, citas de prensa, a quién suenas o tu rider técnico: "
                    "elige abajo. Nada de esto hace falta para publicar."),
    section_done="Hecho.",
    done_words=frozenset({"listo", "lista", "ya", "ya está", "ya esta", "no", "nada", "nada más", "nada mas",
                          "terminar", "terminado", "fin", "eso es todo", "ninguna", "ninguno", "basta"}),
    errors={
        "binary": "Solo puedo leer mensajes de texto.",
        "too_large": "Tu mensaje es demasiado largo. Resúmelo un poco y vuelve a enviarlo.",
        "too_fast": "Más despacio, por favor: espera unos segundos y vuelve a enviarlo. Tu mensaje sigue en la caja.",
        "overloaded": (
            "Hay mucha gente conectada ahora mismo. Lo que has escrito está guardado: esta pestaña se conectará sola "
            "en un momento."
        ),
        "too_many_sockets": (
            "Tienes demasiadas pestañas de ÍTERA abiertas a la vez. Cierra alguna: esta se conectará sola en cuanto pueda."
        ),
        "not_json": "No he podido leer tu mensaje. Vuelve a enviarlo, por favor.",
        "no_message": "No he recibido ninguna respuesta. Escríbela en el cuadro y pulsa «Enviar».",
        "empty_message": "Tu respuesta está vacía. Escribe algo antes de enviar.",
        "unknown_action": "No reconozco esa acción.",
        "bad_step": "Solo puedes editar pasos que ya has respondido.",
        "not_editing": "No estás editando ninguna respuesta.",
        "not_started": "Todavía no has respondido nada: empieza por la primera pregunta, en el cuadro de respuesta.",
        "nothing_to_remove": "Eso ya no estaba en tu presskit.",
        "photo_gone": "Esa foto ya no estaba en tu presskit.",
        "credit_too_long": "El crédito de la foto puede tener hasta 120 caracteres. Acórtalo y vuelve a guardarlo.",
        "read_only": (
            "Editar, empezar de nuevo y publicar esperan a que vuelva el servicio. Tus respuestas nuevas sí se "
            "guardan."
        ),
        "internal": "Algo ha fallado al responderte. Lo que ya enviaste está guardado; inténtalo de nuevo en un momento.",
        "session_unknown": "Esta conversación no existe. Recarga la página para empezar una nueva.",
        "session_not_yours": "Esta conversación pertenece a otra persona. Recarga la página para abrir la tuya.",
        "kept_refused": (
            "No hemos podido guardar una respuesta que enviaste durante la incidencia: no cabía en tu "
            "presskit. Escríbela de nuevo, por favor."
        ),
        "not_complete": "Primero completa los siete pasos; después podrás publicar tu presskit.",
        "taken_down": (
            "El equipo de ÍTERA ha retirado tu página y no se puede publicar ahora. Escríbenos y lo revisamos."
        ),
        "not_published": "Tu página no está publicada, así que no hay nada que retirar.",
    },
    publishing={
        "published_first": (
            "¡Tu presskit está publicado! Este es el enlace para enviar a promotores y salas: {url} "
            "(lo tienes también en el panel, con un botón para copiarlo)."
        ),
        "published_again": "He publicado tus cambios: la versión {number} ya está en {url}",
        "unpublished": "He retirado tu página: el enlace ya no muestra nada. Tus datos siguen aquí y puedes volver a publicarla cuando quieras.",
        "edit_link": "Te he creado un enlace privado nuevo para editar desde otro dispositivo; el anterior ya no funciona. Lo tienes encima del cuadro de respuesta.",
        "listed": "Tu página aparecerá en buscadores como Google; puede tardar unos días en salir.",
        "listed_unpublished": "Tu página aparecerá en buscadores en cuanto la publiques.",
        "unlisted": "Tu página ya no aparecerá en buscadores; quien tenga el enlace la sigue viendo.",
        "unlisted_unpublished": "Cuando publiques tu página, no aparecerá en buscadores: solo la verá quien tenga el enlace.",
    },
    bios={
        # The template bio, in the third person ({name} {genres} {base} {where} {year} {duration}
        # {experience} {quote}); `solo`, `duo` and `group` variants where the grammar differs.
        "and": "y",
        "intro_solo": "{name} es artista de {genres} con base en {base}.",
        "intro_duo": "{name} es un dúo de {genres} con base en {base}.",
        "intro_group": "{name} es una formación de {genres} con base en {base}.",
        "since_solo": "En activo desde {year}.",
        "since_duo": "En activo desde {year}.",
        "since_group": "En activo desde {year}.",
        "for_solo": "Lleva {duration} en activo.",
        "for_duo": "Llevan {duration} en activo.",
        "for_group": "Llevan {duration} en activo.",
        "where_preposition": "en",
        "career": "Trayectoria: {experience}.",
        "where_solo": "Actúa {where}.",
        "where_duo": "Actúan {where}.",
        "where_group": "Actúan {where}.",
        "quote_solo": "En sus propias palabras: «{quote}»",
        "quote_duo": "En sus propias palabras: «{quote}»",
        "quote_group": "En sus propias palabras: «{quote}»",
        "closing_solo": "Su música y sus redes están enlazadas en este presskit.",
        "closing_duo": "Su música y sus redes están enlazadas en este presskit.",
        "closing_group": "Su música y sus redes están enlazadas en este presskit.",
        # The one-liner, for festival programmes: "{name}: …", the career only when it is a date
        # or a span ({year} {duration}).
        "one_liner_solo": "{name}: artista de {genres} con base en {base}",
        "one_liner_duo": "{name}: dúo de {genres} con base en {base}",
        "one_liner_group": "{name}: formación de {genres} con base en {base}",
        "one_liner_since": ", en activo desde {year}",
        "one_liner_for": ", {duration} en activo",
        "written_ai": "He escrito tu biografía, en versión breve y larga: la tienes en el panel «Tu presskit».",
        "written_template": (
            "He preparado tu biografía con tus respuestas: la tienes en el panel «Tu presskit»."
        ),
        "queued": (
            "Ahora mismo el servicio de IA no está disponible, así que he preparado tu biografía con "
            "tus respuestas. En cuanto vuelva, la IA escribirá una versión mejorada y aparecerá aquí "
            "sola; no tienes que hacer nada."
        ),
        "arrived": "¡Ya está aquí tu biografía escrita por la IA! La tienes en el panel «Tu presskit».",
    },
    ui={
        "title": "Crea tu presskit",
        "tagline": "Tu presskit profesional en 7 pasos, charlando.",
        "progress": "Paso {step} de {total}",
        "progress_complete": "Presskit completo",
        "composer_label": "Tu respuesta",
        "skip_to_answer": "Saltar al cuadro de respuesta",
        "placeholder": "Escribe tu respuesta…",
        "placeholder_complete": "Tu presskit está completo: cambia cualquier respuesta desde el panel o publícalo.",
        "send": "Enviar",
        "suggestions": "Sugerencias",
        "bio_title": "Biografía",
        "bio_one_liner": "En una línea",
        "bio_short": "Breve",
        "bio_long": "Larga",
        "bio_by_ai": "Escrita por la IA",
        "bio_by_template": "Preparada con tus respuestas",
        "bio_pending": "La IA escribirá una versión mejorada en cuanto vuelva el servicio.",
        "bio_in_en": "En inglés",  # the bio translated (chat.bios), by language
        "bio_in_es": "En español",
        "draft_title": "Tu presskit",
        "draft_empty": "Aquí irán apareciendo tus respuestas.",
        # The draft panel folded on a phone, the photo picker, and the start screen's example.
        "draft_summary": "Tu presskit · {count} de {total}",
        "draft_summary_complete": "Tu presskit · completo",
        "photo_chosen": "Foto elegida.",
        "example_badge": "Ejemplo",
        "example_caption": "Así se verá tu presskit cuando lo publiques.",
        "example_name": "Noa Vértice",
        "example_genres": "Techno · Electro · Breaks",
        "example_bio": "DJ y productora de Valencia. Diez años en cabina, del club de barrio a los grandes festivales.",
        "example_published": "Publicado",
        "example_link": "/p/noa-vertice",
        "edit": "Editar",
        "edit_field": "Editar {label}",
        "editing": "Editando",
        "cancel_edit": "Dejarlo como estaba",
        "restart": "Empezar de nuevo",
        "restart_confirm": "¿Seguro? Se borrarán tus respuestas y empezarás desde el paso 1.",
        "connecting": "Conectando…",
        "connected": "Conexión estable",
        "reconnecting": "Conexión perdida. Reconectando…",
        "offline_send": "Sin conexión: tu respuesta sigue en el cuadro y podrás enviarla al reconectar.",
        "refused": "No se puede abrir esta conversación.",
        "you": "Tú",
        "assistant": "Asistente ÍTERA",
        "fallback_badge": "respaldo",
        "fallback_why": (
            "Esta respuesta viene del modo de respaldo: el asistente principal no estaba disponible. Tu "
            "respuesta se guardó igual."
        ),
        "kept_pending": "Guardada: se aplicará sola en cuanto vuelva el servicio.",
        "language": "Idioma",
        "change_language": "Cambiar",
        "typing": "El asistente está escribiendo…",
        "still_here": "Un momento, sigo contigo…",
        "mode_backup": "Modo respaldo activo",
        "banner_backup": (
            "Usando modo de respaldo para garantizar el servicio. "
            "La funcionalidad completa se restaurará automáticamente."
        ),
        # One plain line per level under the banner: what still works, what waits.
        "banner_detail_degraded": "Todo funciona: el asistente responde desde un servicio de respaldo.",
        "banner_detail_limited": (
            "Tus respuestas se guardan y el asistente responde con textos preparados; la biografía escrita "
            "por IA llegará cuando vuelva el servicio."
        ),
        "banner_detail_minimal": (
            "Tus respuestas se guardan y se aplicarán solas en cuanto vuelva el servicio; editar y publicar "
            "esperan hasta entonces."
        ),
        "banner_no_database": (
            "Ahora mismo no podemos abrir tu conversación por un problema técnico; tus respuestas están a "
            "salvo. Volvemos enseguida: esta página se actualizará sola."
        ),
        "banner_emergency": "ÍTERA está en mantenimiento de emergencia. Volvemos enseguida: esta página se actualizará sola.",
        "banner_too_many_chats": (
            "Se han empezado muchas conversaciones desde tu conexión en poco tiempo. Espera un rato y vuelve a "
            "cargar la página; si compartes red con otros artistas, escríbenos y lo resolvemos."
        ),
        "placeholder_backup": "Modo respaldo activo: funcionalidad básica disponible",
        "placeholder_minimal": "Escribe tu respuesta: se guarda y se aplicará en cuanto vuelva el servicio",
        "status_title": "Volvemos enseguida",
        "photo_title": "Fotos de prensa",
        "photo_label": "Elige una foto",
        "photo_hint": "JPEG, PNG o WebP, hasta {max_mb} MB. Hasta {max_photos} fotos; la primera es la de portada.",
        "photo_submit": "Subir foto",
        "photo_add": "Añadir otra foto",
        "photo_alt": "Tu foto de prensa {number}",
        "photo_none": "Aún no has subido ninguna foto.",
        "photo_pending": "Tu foto está a salvo y se subirá en cuanto el almacenamiento vuelva a estar disponible.",
        "photo_count": "{count} de {max} fotos",
        "photo_full": "Ya tienes {max} fotos, el máximo. Quita una para subir otra.",
        "photo_cover": "Portada",
        "photo_credit_label": "Crédito (fotógrafo/a)",
        "photo_credit_placeholder": "Ej.: Ana Pérez",
        "photo_credit_save": "Guardar crédito",
        "photo_credit_aria": "Crédito de la foto {number}",
        "photo_earlier": "Antes",
        "photo_later": "Después",
        "photo_earlier_aria": "Mover la foto {number} antes",
        "photo_later_aria": "Mover la foto {number} después",
        "photo_remove": "Quitar",
        "photo_remove_aria": "Quitar la foto {number}",
        "photo_stored": "Foto guardada.",
        "photo_queued": (
            "Tu foto está a salvo: la subiremos en cuanto el almacenamiento vuelva a estar disponible. "
            "No tienes que hacer nada."
        ),
        "photo_failed": (
            "Tu foto está a salvo en nuestro servidor, pero no hemos podido subirla. Nuestro equipo lo "
            "revisará; también puedes volver a intentarlo más tarde."
        ),
        "photo_error_type": "Ese archivo no es una foto JPEG, PNG o WebP. No se ha guardado nada: elige otra.",
        "photo_error_too_big": "La foto pesa más de {max_mb} MB. No se ha guardado nada: prueba con una más ligera.",
        "photo_error_too_many_pixels": (
            "La foto tiene más de {max_mp} megapíxeles. No se ha guardado nada: prueba con una de menos resolución."
        ),
        "photo_error_broken": (
            "No hemos podido abrir esa foto: el archivo está dañado o incompleto. No se ha guardado nada: elige otra."
        ),
        "photo_error_empty": "No has elegido ninguna foto, o el archivo está vacío. No se ha guardado nada.",
        "photo_error_too_many": "Ya tienes {max_photos} fotos, el máximo. No se ha guardado nada: quita una y vuelve a subirla.",
        "photo_error_credit": "El crédito puede tener hasta {max_credit} caracteres. No se ha guardado nada: acórtalo.",
        "photo_error_unavailable": (
            "Ahora mismo no podemos recibir fotos. No se ha guardado nada: inténtalo de nuevo en unos minutos."
        ),
        "photo_error_not_yours": "Esta conversación no es tuya: no puedes subir una foto a ella. No se ha guardado nada.",
        "photo_back": "Volver a tu chat",
        "save_field": "Guardar",
        "publish_title": "Publicar",
        "publish_lead": "Así verá tu presskit quien abra tu enlace. Revisa y edita lo que quieras; cuando te guste, publícalo.",
        "publish": "Publicar",
        "publish_changes": "Publicar cambios",
        # Which link plays on the public page.
        "player_title": "Tu música en la página",
        "player_playing": "Suena en tu página",
        "player_use": "Usar este",
        # The optional sections in the panel and under the box.
        "sections_title": "Secciones opcionales",
        "sections_offer_label": "Añadir a tu presskit",
        "section_add": "Añadir",
        "section_change": "Cambiar",
        "section_remove": "Quitar",
        "section_none": "Nada todavía.",
        "section_finish": "Listo",
        # The tech rider as a PDF, in the optional sections.
        "rider_pdf_label": "Elige un PDF",
        "rider_pdf_chosen": "PDF elegido.",
        "rider_pdf_hint": "Tu rider en PDF, hasta {max_mb} MB y {max_pages} páginas.",
        "rider_pdf_submit": "Subir rider en PDF",
        "rider_pdf_replace": "Cambiar el PDF",
        "rider_pdf_line": "Rider en PDF subido.",
        "rider_pdf_name": "Rider en PDF",
        "rider_pdf_stored": "Rider en PDF guardado.",
        "rider_pdf_error_type": "Ese archivo no es un PDF. No se ha guardado nada: elige otro.",
        "rider_pdf_error_too_big": "El PDF pesa más de {max_mb} MB. No se ha guardado nada: prueba con uno más ligero.",
        "rider_pdf_error_broken": (
            "No hemos podido abrir ese PDF: el archivo está dañado o incompleto. No se ha guardado nada: elige otro."
        ),
        "rider_pdf_error_encrypted": (
            "Ese PDF está protegido con contraseña o cifrado. No se ha guardado nada: súbelo sin protección."
        ),
        "rider_pdf_error_pages": "El PDF debe tener entre 1 y {max_pages} páginas. No se ha guardado nada.",
        "rider_pdf_error_empty": "No has elegido ningún PDF, o el archivo está vacío. No se ha guardado nada.",
        "rider_pdf_error_not_complete": (
            "Podrás subir tu rider en PDF cuando hayas terminado los siete pasos. No se ha guardado nada."
        ),
        "rider_pdf_error_unavailable": (
            "Ahora mismo no podemos recibir archivos. No se ha guardado nada: inténtalo de nuevo en unos minutos."
        ),
        "rider_pdf_error_not_yours": "Esta conversación no es tuya: no puedes subir un PDF a ella. No se ha guardado nada.",
        "published_state": "Publicado: versión {number}, desde el {date}.",
        # What the public page got in the last seven days (presskit.stats): no cookie, no IP, no bots.
        "stats_week": "Esta semana: {view}, {play}, {pdf}, {zip} y {link}.",
        "stats_view_one": "1 visita", "stats_view_many": "{n} visitas",
        "stats_play_one": "1 escucha", "stats_play_many": "{n} escuchas",
        "stats_pdf_one": "1 descarga del PDF", "stats_pdf_many": "{n} descargas del PDF",
        "stats_zip_one": "1 descarga del ZIP", "stats_zip_many": "{n} descargas del ZIP",
        "stats_link_one": "1 clic en tus enlaces", "stats_link_many": "{n} clics en tus enlaces",
        "stats_note": "Contamos sin cookies ni direcciones IP, y sin los robots que se identifican.",
        "draft_changed": "Tienes cambios sin publicar.",
        "draft_same": "Lo publicado está al día.",
        "public_link": "Enlace público",
        "copy": "Copiar enlace",
        "copied": "¡Copiado!",
        "open_page": "Ver mi página",
        "unpublish": "Retirar la página",
        "unpublish_confirm": "¿Retirar tu página? El enlace dejará de funcionar hasta que vuelvas a publicar.",
        "listed_state": "Buscadores: sí. Cualquiera podrá encontrar tu página buscando tu nombre.",
        "unlisted_state": "Buscadores: no. Solo verá tu página quien tenga el enlace.",
        "list": "Mostrar en buscadores",
        "unlist": "Quitar de buscadores",
        "taken_down_state": "El equipo de ÍTERA ha retirado tu página. Escríbenos si crees que es un error.",
        "edit_link_title": "Tu enlace privado de edición",
        "edit_link_about": "Para seguir editando tu presskit desde otro navegador o dispositivo.",
        "edit_link_warning": "Quien tenga este enlace puede editar tu presskit: guárdalo como una contraseña y no lo compartas.",
        "edit_link_once": "Cópialo ahora: por seguridad no volveremos a mostrarlo. Si lo pierdes, crea uno nuevo.",
        "edit_link_new": "Crear un enlace privado nuevo",
        "edit_link_new_confirm": "El enlace privado anterior dejará de funcionar. ¿Crear uno nuevo?",
        "edit_link_copy": "Copiar enlace privado",
        "edit_link_invalid_title": "Este enlace privado no funciona",
        "edit_link_invalid": "Puede que se haya creado uno nuevo o que esté mal copiado. Ábrelo desde el navegador donde hiciste tu presskit y crea uno nuevo.",
    },
)
