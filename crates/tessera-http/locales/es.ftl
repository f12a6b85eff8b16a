# Los textos de las páginas alojadas, en español.

## Inicio de sesión
login-title = Iniciar sesión · { $issuer }
login-heading = Inicia sesión para continuar en { $client }
login-username = Correo electrónico o nombre de usuario
login-password = Contraseña
login-submit = Iniciar sesión
login-refused-incomplete = Escribe tu correo electrónico o nombre de usuario y tu contraseña.
login-refused-credentials = El correo electrónico, el nombre de usuario o la contraseña no son correctos.
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

## Todas las páginas
language = Idioma
legal = Aviso legal
terms = Condiciones del servicio
privacy = Política de privacidad
# This language's name, in itself: the language switch shows it.
language-name = Español
