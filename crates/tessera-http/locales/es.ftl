# Los textos de las páginas alojadas, en español.

## Inicio de sesión
login-title = Iniciar sesión · { $issuer }
login-heading = Inicia sesión para continuar en { $client }
login-username = Correo electrónico o nombre de usuario
login-password = Contraseña
login-submit = Iniciar sesión
login-refused-incomplete = Escribe tu correo electrónico o nombre de usuario y tu contraseña.
login-refused-username-too-long = Un correo electrónico o nombre de usuario tiene como máximo { $max } caracteres.
login-refused-password-too-long = Una contraseña tiene como máximo { $max } caracteres.
login-refused-credentials = El correo electrónico, el nombre de usuario o la contraseña no son correctos.
login-refused-unverified = Tu dirección de correo aún no está verificada. Te hemos enviado un enlace nuevo: ábrelo y luego inicia sesión.
login-refused-wait-seconds = Demasiados intentos fallidos. Espera { $seconds ->
        [one] un segundo
       *[other] { $seconds } segundos
    } antes de volver a intentarlo.
login-refused-wait-minutes = Demasiados intentos fallidos. El inicio de sesión está en pausa; vuelve a intentarlo dentro de { $minutes ->
        [one] un minuto
       *[other] { $minutes } minutos
    }.

## Consentimiento
consent-title = Permitir acceso · { $issuer }
consent-heading = { $client } quiere acceder a tu cuenta
consent-asks = Solicita:
consent-allow = Permitir
consent-deny = Denegar
scope-openid = Saber quién eres
scope-profile = Ver tu nombre y tu perfil
scope-email = Ver tu dirección de correo electrónico
scope-address = Ver tu dirección postal
scope-phone = Ver tu número de teléfono
scope-offline_access = Mantener el acceso mientras no estás

## Errores
error-title = Algo salió mal · { $issuer }
error-heading = No se puede completar la solicitud
error-interaction-gone = Esta solicitud de inicio de sesión ha caducado o ya se usó. Vuelve a la aplicación y empieza de nuevo.
error-interaction-forbidden = Esta solicitud de inicio de sesión pertenece a otra ventana del navegador, o la página se envió dos veces. Vuelve a la aplicación y empieza de nuevo.
error-not-signed-in = Inicia sesión antes de responder a esta página. Vuelve a la aplicación y empieza de nuevo.
error-form-unreadable = No se pudo leer el formulario. Vuelve atrás y envíalo de nuevo.
error-choose-decision = Elige Permitir o Denegar.
error-bad-request = La aplicación envió una solicitud que no se puede aceptar. Indica a los desarrolladores de la aplicación lo que aparece abajo.
error-details = Detalles para los desarrolladores de la aplicación

## Cierre de sesión
logout-title = Cerrar sesión · { $issuer }
logout-heading = ¿Cerrar sesión en { $issuer }?
logout-submit = Cerrar sesión
logout-done = Has cerrado la sesión

## Portal de la cuenta
account-title = Tu cuenta · { $issuer }
account-sign-in-heading = Inicia sesión en tu cuenta de { $issuer }
account-heading = Tu cuenta
account-profile = Perfil
account-name = Nombre
account-email = Correo electrónico
account-username = Nombre de usuario
account-picture = Imagen (dirección web)
account-picture-hint = Una dirección https:// de una imagen tuya; las aplicaciones pueden mostrarla.
account-picture-alt = Tu imagen
account-locale = Idioma
account-locale-none = El que pida el navegador
account-profile-save = Guardar perfil
account-notice-profile-saved = Tu perfil está guardado.
account-profile-name-too-long = El nombre puede tener como máximo { $max } caracteres.
account-profile-picture-invalid = La imagen debe ser una dirección web como https://example.com/yo.png, de como máximo { $max } caracteres.
account-profile-locale-invalid = Elige un idioma de la lista.
account-sessions = Dónde has iniciado sesión
account-session-since = Sesión iniciada el { $time }
account-session-current = (este navegador)
account-session-end = Cerrar esa sesión
account-sign-out = Cerrar sesión
account-sessions-end-others = Cerrar sesión en todos los demás sitios
account-notice-session-ended = Esa sesión está cerrada.
account-notice-others-ended = Has cerrado sesión en todos los demás sitios.
error-account-forbidden = Este formulario está desactualizado o viene de otra página. Abre tu cuenta de nuevo y repite lo que hiciste.
error-forgot-forbidden = Este formulario está desactualizado o viene de otra página. Abre de nuevo la página «¿Has olvidado tu contraseña?» y envíalo desde allí.
error-account-not-found = Esa sesión no existe o ya está cerrada.
account-password = Contraseña
account-current-password = Contraseña actual
account-current-password-wrong = La contraseña actual no es correcta.
account-notice-password-changed = Tu contraseña ha cambiado. Se han cerrado tus otras sesiones.
account-delete = Eliminar tu cuenta
account-delete-text = Esto elimina tu cuenta y cierra tu sesión en todas las aplicaciones que la usan. No se puede deshacer.
account-delete-submit = Eliminar mi cuenta
account-deleted-heading = Tu cuenta está eliminada
account-deleted-text = Tu cuenta y lo que se guardaba con ella ya no existen, y se ha cerrado tu sesión.
error-account-deletion-not-allowed = Aquí no se pueden eliminar cuentas. Pregunta a la organización que ofrece este servicio.

## Registro, verificación del correo, restablecer la contraseña
login-forgot = ¿Has olvidado tu contraseña?
login-sign-up = Crear una cuenta
signup-title = Crear una cuenta · { $issuer }
signup-heading = Crea una cuenta para continuar a { $client }
signup-email = Correo electrónico
signup-name = Nombre (opcional)
signup-password = Contraseña
signup-submit = Crear cuenta
signup-have-account = Ya tengo una cuenta
password-hint = Al menos { $min } caracteres. Unas cuantas palabras sin relación entre sí forman una contraseña fuerte.
signup-closed = Aquí no se pueden crear cuentas nuevas. Pide una a la organización que ofrece este servicio.
signup-invalid-email = Escribe una dirección de correo, como nombre@example.com.
signup-domain = Las cuentas de aquí son solo para direcciones de ciertas organizaciones. Usa tu dirección del trabajo o de tu centro de estudios.
signup-taken = Esta dirección de correo ya tiene una cuenta. Inicia sesión o restablece tu contraseña.
signup-name-too-long = El nombre puede tener como máximo { $max } caracteres.
password-too-short = La contraseña debe tener al menos { $min } caracteres.
password-too-long = La contraseña puede tener como máximo { $max } caracteres.
password-common = Esta contraseña es de las más comunes y fáciles de adivinar. Elige otra.
password-weak = Esta contraseña es demasiado fácil de adivinar. Añade más palabras o caracteres sin relación entre sí.
check-email-heading = Revisa tu correo
check-email-text = Si la dirección se puede usar, te hemos enviado un mensaje con un enlace. Ábrelo para continuar. Puede tardar unos minutos; mira también en la carpeta de spam.
verify-heading = Verifica tu dirección de correo
verify-text = Confirma que esta dirección de correo es tuya.
verify-submit = Verificar mi dirección de correo
verified-heading = Tu dirección de correo está verificada
verified-text = Gracias. Ya puedes iniciar sesión.
verified-continue = Continuar con el inicio de sesión
link-heading = Este enlace no funciona
link-unknown = Este enlace no es válido. Comprueba que abriste el enlace completo del mensaje.
link-expired = Este enlace ha caducado. Pide uno nuevo.
link-used = Este enlace ya se usó, o la cuenta cambió desde que se envió. Pide uno nuevo.
forgot-link = Pedir un enlace nuevo
forgot-title = Contraseña olvidada · { $issuer }
forgot-heading = ¿Has olvidado tu contraseña?
forgot-text = Escribe la dirección de correo de tu cuenta y te enviaremos un enlace para elegir una contraseña nueva.
forgot-submit = Enviar enlace
reset-title = Elige una contraseña nueva · { $issuer }
reset-heading = Elige una contraseña nueva
reset-password = Contraseña nueva
reset-submit = Guardar contraseña
reset-done-heading = Tu contraseña ha cambiado
reset-done-text = Se ha cerrado tu sesión en todas partes. Inicia sesión con tu contraseña nueva.
reset-done-account = Iniciar sesión en tu cuenta
mail-greeting = Hola, { $name }:
mail-greeting-anonymous = Hola:
mail-verify-subject = Verifica tu dirección de correo · { $issuer }
mail-verify-text = Confirma que esta es tu dirección de correo para { $issuer }. El enlace funciona una vez, durante { $hours } horas:
mail-verify-action = Verificar dirección de correo
mail-reset-subject = Restablece tu contraseña · { $issuer }
mail-reset-text = Alguien pidió restablecer la contraseña de tu cuenta de { $issuer }. Para elegir una nueva, abre este enlace. Funciona una vez, durante { $minutes } minutos:
mail-reset-action = Elegir una contraseña nueva
mail-registered-subject = Tu cuenta de { $issuer }
mail-registered-text = Alguien intentó crear una cuenta en { $issuer } con esta dirección de correo, que ya tiene una. Si fuiste tú, inicia sesión o elige aquí una contraseña nueva:
mail-registered-action = Restablecer mi contraseña
mail-ignore = Si no lo pediste, puedes ignorar este mensaje; no cambia nada.

## Todas las páginas
language = Idioma
legal = Aviso legal
terms = Condiciones del servicio
privacy = Política de privacidad
# This language's name, in itself: the language switch shows it.
language-name = Español
